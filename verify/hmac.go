package verify

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
)

// mac computes HMAC(key, parts...) with the given hash.
func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// anyMAC reports whether sig equals the MAC of parts under any of keys, in
// constant time for each key.
func anyMAC(h func() hash.Hash, keys [][]byte, sig []byte, parts ...[]byte) bool {
	return matchAny(h, keys, [][]byte{sig}, parts...)
}

// matchAny reports whether any of sigs is the MAC of parts under any of
// keys. Each key's MAC is computed once and compared with every signature,
// all of them, in constant time.
func matchAny(h func() hash.Hash, keys, sigs [][]byte, parts ...[]byte) bool {
	ok := false
	for _, k := range keys {
		want := mac(h, k, parts...)
		for _, sig := range sigs {
			if hmac.Equal(want, sig) {
				ok = true
			}
		}
	}
	return ok
}

// maxSignatures bounds the entries of a signature list: a sender lists two
// or three while it rotates its secret, and each entry costs a MAC
// comparison per key.
const maxSignatures = 10

// signatureList splits a header value at sep and decodes each entry with
// decode, which returns nil for an entry that is not a signature of ours
// (malformed, or another version). Empty entries are skipped. A list of
// more than maxSignatures entries, or with no signature of ours, is refused.
func signatureList(name, v, sep string, decode func(entry string) []byte) ([][]byte, error) {
	var sigs [][]byte
	n := 0
	for item := range strings.SplitSeq(v, sep) {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if n++; n > maxSignatures {
			return nil, fail("%s lists more than %d signatures", name, maxSignatures)
		}
		if sig := decode(item); sig != nil {
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) == 0 {
		return nil, fail("%s has no well-formed signature", name)
	}
	return sigs, nil
}

var hashes = map[string]func() hash.Hash{
	"sha1":   sha1.New,
	"sha256": sha256.New,
	"sha512": sha512.New,
}
