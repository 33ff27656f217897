package engine

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestParseBody(t *testing.T) {
	const mp = "multipart/form-data; boundary=XyZ"
	part := func(head, body string) string { return "--XyZ\r\n" + head + "\r\n\r\n" + body + "\r\n" }
	for _, tc := range []struct {
		name, ct, raw string
		want          any
		err           string // a part of the error, "" for none
	}{
		{"object", "application/json", `{"a":1,"b":"x"}`, map[string]any{"a": 1, "b": "x"}, ""},
		{"big id stays exact", "application/json", `{"id":820982911946154508}`, map[string]any{"id": 820982911946154508}, ""},
		{"float", "application/json", `{"p":25.99,"e":1e3}`, map[string]any{"p": 25.99, "e": 1000.0}, ""},
		{"no content type", "", ` [1, 2.5]`, []any{1, 2.5}, ""},
		{"charset", "application/json; charset=utf-8", `{"a":1}`, map[string]any{"a": 1}, ""},
		{"vendor json", "application/vnd.api+json", `{"a":1}`, map[string]any{"a": 1}, ""},
		{"bom", "application/json", "\xef\xbb\xbf{\"a\":1}", map[string]any{"a": 1}, ""},
		{"bom without type", "", "\xef\xbb\xbf {\"a\":1}", map[string]any{"a": 1}, ""},
		{"bom counted in offset", "application/json", "\xef\xbb\xbf{\"a\":x}", nil, "body: invalid JSON at byte 8: invalid character 'x'"},
		{"malformed", "application/json", `{"a":`, nil, "body: invalid JSON at byte 5: unexpected end of input"},
		{"trailing data", "application/json", `{"a":1} {"b":2}`, nil, "body: invalid JSON at byte 8"},
		{"empty", "application/json", ``, nil, ""},
		{"empty text", "text/plain", ` `, nil, ""},
		{"text", "text/plain", `hello`, nil, `body: Content-Type "text/plain" is not parsed`},
		{"json as text", "text/plain", ` {"a":1}`, map[string]any{"a": 1}, ""},
		{"untyped text", "", `hello`, nil, "body: no Content-Type, and invalid JSON at byte 0"},
		{"unparsable type", "; charset=utf-8", `hello`, nil, `body: Content-Type "; charset=utf-8" does not parse, and invalid JSON at byte 0`},
		{"bom alone", "text/plain", "\xef\xbb\xbf", nil, `is not parsed`},
		{"form", "application/x-www-form-urlencoded", `a=1&b=two&a=3`, map[string]any{"a": "1", "b": "two"}, ""},
		{"github form payload", "application/x-www-form-urlencoded", `payload=%7B%22ref%22%3A%22main%22%7D`, map[string]any{"ref": "main"}, ""},
		{"bad form", "application/x-www-form-urlencoded", `a=%zz`, nil, "body: invalid form"},
		{"nesting bomb", "application/json", deep(20000), nil, "nesting deeper than 10000"},
		{"multipart", mp, part(`Content-Disposition: form-data; name="payload"`+"\r\nContent-Type: application/json", `{"event":"media.play"}`) +
			part(`Content-Disposition: form-data; name="thumb"; filename="thumb.jpg"`+"\r\nContent-Type: image/jpeg", "\xff\xd8\xff\xe0jpeg") +
			part(`Content-Disposition: form-data; name="note"`, "hi") + part(`Content-Disposition: form-data; name="note"`, "second") +
			part(`Content-Disposition: form-data; name="sniffed"`, ` ["x"]`) + part(`Content-Disposition: form-data; name="bin"`+"\r\nContent-Type: application/octet-stream", "\x00\x01") + "--XyZ--\r\n",
			map[string]any{"payload": map[string]any{"event": "media.play"}, "note": "hi", "sniffed": []any{"x"},
				"thumb": map[string]any{"name": "thumb", "filename": "thumb.jpg", "content_type": "image/jpeg", "size": 8},
				"bin":   map[string]any{"name": "bin", "filename": "", "content_type": "application/octet-stream", "size": 2}}, ""},
		{"multipart bad json part", mp, part(`Content-Disposition: form-data; name="payload"`+"\r\nContent-Type: application/json", `{"event":`) + "--XyZ--\r\n",
			nil, `body: part "payload": invalid JSON at byte 9`},
		{"multipart text that is not json", mp, part(`Content-Disposition: form-data; name="t"`, `{not json`) + "--XyZ--\r\n", map[string]any{"t": "{not json"}, ""},
		{"multipart no boundary", "multipart/form-data", "--XyZ--\r\n", nil, "without a boundary"},
		{"multipart truncated", mp, part(`Content-Disposition: form-data; name="a"`, "x"), nil, `body: part "a": invalid multipart: unexpected EOF`},
		{"multipart too many parts", mp, strings.Repeat(part(`Content-Disposition: form-data; name="a"`, "x"), maxParts+1) + "--XyZ--\r\n", nil, "more than 1000 multipart parts"},
		{"xml", "application/xml; charset=utf-8", `<?xml version="1.0" encoding="UTF-8"?>
<build number="42" xmlns="urn:ci" xmlns:x="urn:x"><x:status>FAILURE</x:status><change id="1">fix</change><change id="2"/><empty/>
  <msg lang="en">hello <b>big</b> world</msg></build>`,
			map[string]any{"build": map[string]any{"@number": "42", "status": "FAILURE", "empty": "",
				"change": []any{map[string]any{"@id": "1", "#text": "fix"}, map[string]any{"@id": "2"}},
				"msg":    map[string]any{"@lang": "en", "b": "big", "#text": "hello  world"}}}, ""},
		{"text/xml with bom", "text/xml", "\xef\xbb\xbf<a>1</a>", map[string]any{"a": "1"}, ""},
		{"bad xml", "text/xml", "<a>\n<b></a>", nil, "body: invalid XML on line 2"},
		{"two roots", "text/xml", "<a/><b/>", nil, "more than one root element"},
		{"latin1 xml", "text/xml", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, nil, `encoding "ISO-8859-1" is not read`},
		{"xml nesting bomb", "text/xml", strings.Repeat("<a>", maxXMLDepth+1), nil, "nesting deeper than 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBody(tc.ct, []byte(tc.raw))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseBody = %#v, want %#v", got, tc.want)
			}
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func deep(n int) string {
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		b = append(b, '[')
	}
	for i := 0; i < n; i++ {
		b = append(b, ']')
	}
	return string(b)
}

func compress(t testing.TB, coding string, data []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zlib":
		w = zlib.NewWriter(&buf)
	case "flate":
		w, _ = flate.NewWriter(&buf, flate.BestCompression)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeContent(t *testing.T) {
	doc := []byte(`{"ref":"refs/heads/main"}`)
	for _, tc := range []struct {
		name    string
		codings []string
		body    []byte
		max     int64
		want    []byte
		err     string
	}{
		{"gzip", []string{"gzip"}, compress(t, "gzip", doc), 1 << 20, doc, ""},
		{"x-gzip, any case", []string{"X-GZIP"}, compress(t, "gzip", doc), 1 << 20, doc, ""},
		{"deflate as zlib (RFC 9110)", []string{"deflate"}, compress(t, "zlib", doc), 1 << 20, doc, ""},
		{"deflate raw", []string{"deflate"}, compress(t, "flate", doc), 1 << 20, doc, ""},
		{"identity", []string{"identity"}, doc, 1 << 20, doc, ""},
		{"stacked, last applied first", []string{"deflate, gzip"}, compress(t, "gzip", compress(t, "zlib", doc)), 1 << 20, doc, ""},
		{"two header lines", []string{"gzip", "identity"}, compress(t, "gzip", doc), 1 << 20, doc, ""},
		{"exactly max", []string{"gzip"}, compress(t, "gzip", doc), int64(len(doc)), doc, ""},
		{"one byte over max", []string{"gzip"}, compress(t, "gzip", doc), int64(len(doc)) - 1, nil, errDecodedTooLarge.Error()},
		{"unknown", []string{"br"}, doc, 1 << 20, nil, `unsupported Content-Encoding "br"`},
		{"corrupt", []string{"gzip"}, doc, 1 << 20, nil, "gzip: invalid header"},
		{"truncated", []string{"gzip"}, compress(t, "gzip", doc)[:20], 1 << 20, nil, "unexpected EOF"},
		{"too many layers", []string{"gzip,gzip,gzip,gzip,gzip"}, doc, 1 << 20, nil, "at most 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeContent(tc.codings, tc.body, tc.max)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("decoded %q, want %q", got, tc.want)
			}
		})
	}
	// The coding is named once: compress/gzip's own "gzip: " is not
	// repeated (the log said "gzip: gzip: invalid header").
	for _, tc := range []struct {
		codings []string
		body    []byte
		want    string
	}{
		{[]string{"gzip"}, doc, "gzip: invalid header"},
		{[]string{"deflate"}, []byte{0x78, 0x9c, 0xff, 0xff}, "deflate: corrupt input before offset 1"},
	} {
		if _, err := decodeContent(tc.codings, tc.body, 1<<20); err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v, want %q", tc.codings, err, tc.want)
		}
	}
	status, _, _ := bodyRefusal(&encodingError{coding: "br"})
	if status != 415 {
		t.Fatalf("unknown coding answered %d, want 415", status)
	}
	if status, _, _ := bodyRefusal(errDecodedTooLarge); status != 413 {
		t.Fatalf("bomb answered %d, want 413", status)
	}
	if status, _, _ := bodyRefusal(errors.New("gzip: invalid header")); status != 400 {
		t.Fatalf("corrupt answered %d, want 400", status)
	}
}

// A gzip bomb stops at max+1 decoded bytes, whatever it would inflate to.
func TestDecodeContentStopsAtMax(t *testing.T) {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for i := 0; i < 256; i++ { // 256 MiB of zeros, about 256 KiB compressed
		w.Write(zero)
	}
	w.Close()
	var before, after runtimeMem
	before.read()
	_, err := decodeContent([]string{"gzip"}, buf.Bytes(), 1<<20)
	after.read()
	if !errors.Is(err, errDecodedTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if grew := after.total - before.total; grew > 16<<20 {
		t.Fatalf("decoding allocated %d MiB for a 1 MiB limit", grew>>20)
	}
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.total = ms.TotalAlloc
}

// HOOKD_BODY_FILE is absolute even for a relative data directory: an
// action's dir is not hookd's.
func TestBodyDirIsAbsolute(t *testing.T) {
	for _, data := range []string{"data", "./data", "/var/lib/hookd"} {
		if got := bodyDir(data); !filepath.IsAbs(got) || filepath.Base(got) != "tmp" {
			t.Errorf("bodyDir(%q) = %q, want an absolute path ending in tmp", data, got)
		}
	}
}
