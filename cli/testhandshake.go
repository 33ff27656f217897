package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"hookd/engine"
	"hookd/rules"
	"hookd/verify"
)

// handshakeReport is how serve answers a sender's handshake: before any
// rule, never recorded.
type handshakeReport struct {
	Provider string `json:"provider"`
	// Signed: answered once the request's signature verifies, which a dry
	// run does not check; else the handshake comes unsigned.
	Signed      bool   `json:"signed"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body,omitempty"`
	Refused     string `json:"refused,omitempty"` // why serve refuses it
}

// testMethod checks -method against what serve takes for src. A HEAD
// that serve checks as the GET it stands for is tested as that GET.
func testMethod(method string, src *rules.Source) (string, error) {
	m := strings.ToUpper(method)
	if allow, ok := engine.AllowedMethod(src.Verifier, m); !ok {
		return "", fmt.Errorf("-method: serve answers %s on source %s with 405 (provider %s takes %s)", method, src.Name, src.Provider, allow)
	}
	if m == http.MethodHead && verify.AcceptsGET(src.Verifier) {
		return "", fmt.Errorf("-method: serve answers a HEAD on source %s as the GET it stands for, without its body: use -method GET", src.Name)
	}
	return m, nil
}

// handshakeTestReport is the dry run of a handshake: no rule runs.
func handshakeTestReport(src *rules.Source, hs *engine.HandshakeAnswer, redact func(string) string) testReport {
	h := &handshakeReport{Provider: src.Provider, Signed: hs.Signed, Status: hs.Status,
		ContentType: hs.Answer.ContentType, Body: redact(string(hs.Answer.Body))}
	if hs.Err != nil {
		h.Refused = redact(hs.Err.Error())
	}
	return testReport{Source: src.Name, Path: src.Path, Rules: []ruleReport{}, Handshake: h}
}

func printHandshake(w io.Writer, rep *testReport) {
	h := rep.Handshake
	fmt.Fprintf(w, "source %s (%s): a handshake of provider %s, answered before any rule: no rule runs, nothing is recorded\n", rep.Source, rep.Path, h.Provider)
	switch {
	case h.Refused != "":
		fmt.Fprintf(w, "\nHANDSHAKE refused: %s\n", h.Refused)
	case h.Signed:
		fmt.Fprintln(w, "\nHANDSHAKE answered once its signature verifies (a dry run does not check it)")
	default:
		fmt.Fprintln(w, "\nHANDSHAKE answered (its sender does not sign it)")
	}
	fmt.Fprintf(w, "  status %d\n", h.Status)
	if h.ContentType != "" {
		fmt.Fprintf(w, "  Content-Type: %s\n", h.ContentType)
	}
	if h.Body != "" {
		fmt.Fprintln(w, indent(h.Body, "  | "))
	}
}
