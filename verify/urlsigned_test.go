package verify

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
	"time"
)

// urlVector is a request to a URL-signing sender.
type urlVector struct {
	name        string
	url         string // the configured url; "" to reconstruct
	scheme      string // of the request, when reconstructed
	host, uri   string
	ctype, body string
	sig         string
	ok          bool
}

func runURLVectors(t *testing.T, c Config, sigHeader string, extra http.Header, now time.Time, vs []urlVector) {
	t.Helper()
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			cc := c
			cc.URL = v.url
			p := mustNew(t, cc)
			h := extra.Clone()
			if h == nil {
				h = http.Header{}
			}
			h.Set(sigHeader, v.sig)
			if v.ctype != "" {
				h.Set("Content-Type", v.ctype)
			}
			r := &Request{Method: "POST", Header: h, Body: []byte(v.body), Now: now, Scheme: v.scheme, Host: v.host, URI: v.uri}
			err := p.Verify(r)
			if (err == nil) != v.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, v.ok)
			}
			if err != nil && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("%v does not wrap ErrUnauthorized", err)
			}
		})
	}
}

// twilio-python's tests/unit/test_request_validator.py, byte for byte.
func TestTwilioVectors(t *testing.T) {
	const (
		uri  = "https://mycompany.com/myapp.php?foo=1&bar=2"
		form = "application/x-www-form-urlencoded"
		// The SDK's params dict, as Twilio would post it.
		params   = "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309"
		expected = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
		jsonBody = `{"property": "value", "boolean": true}`
		bodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	)
	c := Config{Provider: "twilio", Secrets: []string{"12345"}}
	urlOnly := base64.StdEncoding.EncodeToString(mac(sha1.New, []byte("12345"), []byte(uri)))
	runURLVectors(t, c, "X-Twilio-Signature", nil, t0, []urlVector{
		{name: "form, url configured", url: uri, ctype: form, body: params, sig: expected, ok: true},
		{name: "form, url reconstructed", scheme: "https", host: "mycompany.com", uri: "/myapp.php?foo=1&bar=2", ctype: form, body: params, sig: expected, ok: true},
		{name: "form, url template", url: "https://mycompany.com{uri}", scheme: "http", host: "internal:8080", uri: "/myapp.php?foo=1&bar=2", ctype: form, body: params, sig: expected, ok: true},
		{name: "form, params reordered", url: uri, ctype: form, body: "Caller=%2B14158675309&To=%2B18005551212&From=%2B14158675309&Digits=1234&CallSid=CA1234567890ABCDE", sig: expected, ok: true},
		{name: "repeated params", url: uri, ctype: form, body: "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234", sig: "IK+Dwps556ElfBT0I3Rgjkr1wJU=", ok: true},
		{name: "https port removed", url: "https://mycompany.com:1234/myapp.php?foo=1&bar=2", ctype: form, body: params, sig: expected, ok: true},
		{name: "http with port", url: "http://mycompany.com:1234/myapp.php?foo=1&bar=2", ctype: form, body: params, sig: "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", ok: true},
		{name: "https port 443 added", url: uri, ctype: form, body: params, sig: "kvajT1Ptam85bY51eRf/AJRuM3w=", ok: true},
		{name: "http port 80 added", url: "http://mycompany.com/myapp.php?foo=1&bar=2", ctype: form, body: params, sig: "0ZXoZLH/DfblKGATFgpif+LLRf4=", ok: true},
		{name: "json with bodySHA256", url: uri + "&bodySHA256=" + bodyHash, ctype: "application/json", body: jsonBody, sig: "a9nBmqA0ju/hNViExpshrM61xv4=", ok: true},
		{name: "json body changed", url: uri + "&bodySHA256=" + bodyHash, ctype: "application/json", body: jsonBody + " ", sig: "a9nBmqA0ju/hNViExpshrM61xv4=", ok: false},
		{name: "json without bodySHA256", url: uri, ctype: "application/json", body: jsonBody, sig: expected, ok: false},
		// Signed over the URL alone, a body without bodySHA256 would be
		// unsigned: refused.
		{name: "unsigned json body", url: uri, ctype: "application/json", body: jsonBody, sig: urlOnly, ok: false},
		{name: "unsigned text body", url: uri, ctype: "text/plain", body: "x", sig: urlOnly, ok: false},
		{name: "empty body, URL signed", url: uri, ctype: "application/json", sig: urlOnly, ok: true},
		{name: "form param changed", url: uri, ctype: form, body: params + "&Extra=1", sig: expected, ok: false},
		{name: "form value changed", url: uri, ctype: form, body: "CallSid=CA1234567890ABCDF&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309", sig: expected, ok: false},
		{name: "other URL", url: "https://mycompany.com/myapp.php?foo=1&bar=3", ctype: form, body: params, sig: expected, ok: false},
		{name: "reconstructed as http", scheme: "http", host: "mycompany.com", uri: "/myapp.php?foo=1&bar=2", ctype: form, body: params, sig: expected, ok: false},
		{name: "URL unknown", ctype: form, body: params, sig: expected, ok: false},
		{name: "signature empty", url: uri, ctype: form, body: params, sig: "", ok: false},
		{name: "signature not base64", url: uri, ctype: form, body: params, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8", ok: false},
	})
}

// Square's documented example (and its SDKs' tests).
func TestSquareVector(t *testing.T) {
	c := Config{Provider: "square", Secrets: []string{"asdf1234"}}
	const sig = "2kRE5qRU2tR+tBGlDwMEw2avJ7QM4ikPYD/PJ3bd9Og="
	runURLVectors(t, c, "X-Square-Hmacsha256-Signature", nil, t0, []urlVector{
		{name: "published", url: "https://example.com/webhook", body: `{"hello":"world"}`, sig: sig, ok: true},
		{name: "reconstructed", scheme: "https", host: "example.com", uri: "/webhook", body: `{"hello":"world"}`, sig: sig, ok: true},
		{name: "template", url: "https://example.com{path}", scheme: "http", host: "10.0.0.1", uri: "/webhook", body: `{"hello":"world"}`, sig: sig, ok: true},
		{name: "trailing slash", url: "https://example.com/webhook/", body: `{"hello":"world"}`, sig: sig, ok: false},
		{name: "body changed", url: "https://example.com/webhook", body: `{"hello":"world"} `, sig: sig, ok: false},
		{name: "missing", url: "https://example.com/webhook", body: `{"hello":"world"}`, sig: "", ok: false},
	})
}

// hubspot-api-python's tests/spec/utils/test_signature.py: v3 at
// timestamp 15000000 (ms).
func TestHubSpotVector(t *testing.T) {
	c := Config{Provider: "hubspot", Secrets: []string{"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"}}
	const sig = "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
	body := "{'example_field':'example_value'}"
	ts := http.Header{"X-Hubspot-Request-Timestamp": {"15000000"}}
	at := time.UnixMilli(15000000)
	runURLVectors(t, c, "X-HubSpot-Signature-v3", ts, at.Add(4*time.Minute), []urlVector{
		{name: "published", url: "https://www.example.com/webhook_uri", body: body, sig: sig, ok: true},
		{name: "reconstructed", scheme: "https", host: "www.example.com", uri: "/webhook_uri", body: body, sig: sig, ok: true},
		{name: "encoded characters decoded", scheme: "https", host: "www.example.com", uri: "/webhook%5Furi", body: body, sig: sig, ok: false},
		{name: "body changed", url: "https://www.example.com/webhook_uri", body: body + " ", sig: sig, ok: false},
		{name: "other URL", url: "https://www.example.com/webhook_uri?x=1", body: body, sig: sig, ok: false},
	})
	runURLVectors(t, c, "X-HubSpot-Signature-v3", ts, at.Add(5*time.Minute+time.Second), []urlVector{
		{name: "stale", url: "https://www.example.com/webhook_uri", body: body, sig: sig, ok: false},
	})
	runURLVectors(t, c, "X-HubSpot-Signature-v3", http.Header{"X-Hubspot-Request-Timestamp": {"15000001"}}, at, []urlVector{
		{name: "timestamp changed", url: "https://www.example.com/webhook_uri", body: body, sig: sig, ok: false},
	})
	// The decoded characters: a URI sent with %3A and %2C signs as : and ,.
	p := mustNew(t, Config{Provider: "hubspot", Secrets: []string{"s"}, URL: "https://h.example/a:b,c"})
	signedH, _ := p.(Signer).Sign([]byte("{}"), at, Meta{})
	r := &Request{Method: "POST", Header: signedH, Body: []byte("{}"), Now: at, Scheme: "https", Host: "h.example", URI: "/a%3Ab%2Cc"}
	if err := mustNew(t, Config{Provider: "hubspot", Secrets: []string{"s"}}).Verify(r); err != nil {
		t.Fatalf("percent-encoded URI: %v", err)
	}
}

func TestURLConfig(t *testing.T) {
	for _, u := range []string{"example.com/hook", "https://x{nope}", "ftp://x"} {
		var fe *FieldError
		if _, err := New(Config{Provider: "twilio", Secrets: []string{"s"}, URL: u}); !errors.As(err, &fe) || fe.Field != "url" {
			t.Errorf("url %q: %v", u, err)
		}
	}
	for _, name := range []string{"twilio", "square", "hubspot"} {
		for _, u := range []string{"", "https://x{uri}"} {
			if _, err := Sign(Config{Provider: name, Secrets: []string{"s"}, URL: u}, []byte("a=b"), t0); err == nil {
				t.Errorf("%s signed without a literal url (%q)", name, u)
			}
		}
	}
}

// Every placeholder of url: fills from the request as sent.
func TestCalledURLPlaceholders(t *testing.T) {
	r := &Request{Scheme: "http", Host: "10.0.0.1:8080", URI: "/in/hook?a=1&b=2"}
	for tmpl, want := range map[string]string{
		"":                                      "http://10.0.0.1:8080/in/hook?a=1&b=2",
		"https://example.com/fixed":             "https://example.com/fixed",
		"https://example.com{uri}":              "https://example.com/in/hook?a=1&b=2",
		"https://example.com/x{path}{query}":    "https://example.com/x/in/hook?a=1&b=2",
		"{scheme}://{host}{path}":               "http://10.0.0.1:8080/in/hook",
		"https://example.com{path}/end{query}#": "https://example.com/in/hook/end?a=1&b=2#",
	} {
		u, err := newCalledURL(tmpl)
		if err != nil {
			t.Fatalf("%q: %v", tmpl, err)
		}
		if got, err := u.of(r); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", tmpl, got, err, want)
		}
	}
	u, _ := newCalledURL("https://example.com{path}{query}")
	if got, _ := u.of(&Request{Scheme: "https", Host: "h", URI: "/p"}); got != "https://example.com/p" {
		t.Errorf("no query: %q", got)
	}
}
