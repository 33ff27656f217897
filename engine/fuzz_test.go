package engine

import (
	"encoding/json"
	"testing"
)

// FuzzParseBody: any body, any content type, never a panic; a JSON result
// must be something json can encode again (it is rendered into templates).
func FuzzParseBody(f *testing.F) {
	f.Add("application/json", []byte(`{"a":[1,2.5,"x",{"b":null}],"id":12345678901234567890}`))
	f.Add("application/x-www-form-urlencoded", []byte(`payload=%7B%22a%22%3A1%7D`))
	f.Add("application/x-www-form-urlencoded", []byte(`a=1&b=%ZZ`))
	f.Add("text/plain", []byte(` [1e999]`))
	f.Add("application/json; charset=\"", []byte(`{"a":1} {"b":2}`))
	f.Add("", []byte("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"))
	f.Add("application/json", []byte("{\"\xff\":\"\x00\"}"))
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\n{\"a\":1}\r\n--b--\r\n"))
	f.Add("text/xml", []byte(`<a x="1"><b>t</b><b/>u</a>`))
	f.Fuzz(func(t *testing.T, ct string, raw []byte) {
		v, err := ParseBody(ct, raw)
		if v == nil || err != nil {
			return
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("parsed body cannot be encoded again: %v", err)
		}
	})
}
