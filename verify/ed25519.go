package verify

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// keyCodec reads the public and private keys of one Ed25519 scheme as its
// sender shows them: hex for Discord, whpk_/whsk_ base64 for Standard
// Webhooks. Each returns nil for a malformed key.
type keyCodec struct {
	what    string // how the key is written, for errors
	public  func(s string) []byte
	private func(s string) []byte // a 32-byte seed, or seed and public key
}

var hexKeys = keyCodec{
	what:    "hex",
	public:  func(s string) []byte { b, _ := hex.DecodeString(s); return b },
	private: func(s string) []byte { b, _ := hex.DecodeString(s); return b },
}

var whKeys = keyCodec{
	what: "whpk_ followed by base64",
	public: func(s string) []byte {
		b, ok := strings.CutPrefix(s, "whpk_")
		if !ok {
			return nil
		}
		k, _ := base64.StdEncoding.DecodeString(b)
		return k
	},
	private: func(s string) []byte {
		b, ok := strings.CutPrefix(s, "whsk_")
		if !ok {
			return nil
		}
		k, _ := base64.StdEncoding.DecodeString(b)
		return k
	},
}

// edKeys returns the public keys c configures, decoded with kc, and the
// private key `hookd sign` was given (nil without one). A private key alone
// stands for its own public key, so that sign needs no other option.
func edKeys(c Config, kc keyCodec) ([]ed25519.PublicKey, ed25519.PrivateKey, error) {
	var priv ed25519.PrivateKey
	if c.PrivateKey != "" {
		k := kc.private(strings.TrimSpace(c.PrivateKey))
		switch len(k) {
		case ed25519.SeedSize:
			priv = ed25519.NewKeyFromSeed(k)
		case ed25519.PrivateKeySize:
			priv = ed25519.NewKeyFromSeed(k[:ed25519.SeedSize])
			if !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(k[ed25519.SeedSize:])) {
				return nil, nil, &FieldError{Field: "private_key", Msg: "the second half of a 64-byte private key must be its public key"}
			}
		default:
			what := "64 hex digits (the 32-byte seed)"
			if kc.what != "hex" {
				what = "whsk_ followed by the base64 of the 32-byte seed"
			}
			return nil, nil, &FieldError{Field: "private_key", Msg: "an Ed25519 private key is " + what}
		}
	}
	keys := make([]ed25519.PublicKey, 0, len(c.PublicKeys))
	for i, s := range c.PublicKeys {
		if s == "" {
			return nil, nil, emptyValue("public_key", i)
		}
		k := kc.public(strings.TrimSpace(s))
		if len(k) != ed25519.PublicKeySize {
			return nil, nil, itemError("public_key", i, "an Ed25519 public key is "+kc.what+" of 32 bytes")
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 && priv != nil {
		keys = append(keys, priv.Public().(ed25519.PublicKey))
	}
	return keys, priv, nil
}

// anyEd25519 reports whether any of sigs is a signature of msg by any of
// keys. Every pair is checked: the keys are public, but the count of checks
// then says nothing about which one matched.
func anyEd25519(keys []ed25519.PublicKey, sigs [][]byte, msg []byte) bool {
	ok := false
	for _, k := range keys {
		for _, s := range sigs {
			if len(s) == ed25519.SignatureSize && ed25519.Verify(k, msg, s) {
				ok = true
			}
		}
	}
	return ok
}
