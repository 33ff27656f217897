package engine

import (
	"unsafe"

	"hookd/rules"
	"hookd/verify"
)

// DecodeContent undoes a Content-Encoding (the header's values) as intake
// does, refusing a body that decodes to more than max bytes.
func DecodeContent(codings []string, raw []byte, max int64) ([]byte, error) {
	return decodeContent(codings, raw, max)
}

// ParseBody reads a decoded body as intake does (SPEC section 3): JSON,
// form, multipart/form-data or XML. A body it cannot read is nil, with the
// reason.
func ParseBody(contentType string, raw []byte) (any, error) { return parseBody(contentType, raw) }

// RedactBody replaces, as intake does, a secret the sender put in the body
// (Graph's clientState, Slack's verification token) and returns the body
// that is recorded and parsed.
func RedactBody(p verify.Provider, vr *verify.Request) []byte { return redactBody(p, vr) }

// RequestEnv builds the expression environment of a request as intake
// matches it: headers and query with secrets redacted, the delivery id and
// event type from the provider or the source's id and event expressions.
// vr.JSON must hold the parsed body (bodyErr why it could not be read, if
// so), and vr.Body is not modified after:
// raw shares its memory. It also returns the errors of the id
// and event expressions, which fall back to the provider's defaults.
func RequestEnv(src *rules.Source, vr *verify.Request, bodyErr error, method, path, remote string) (*rules.Env, []string) {
	headers, query := redacted(src.Verifier, vr.Header, vr.Query)
	env := (&rules.Env{Source: src.Name, Headers: headers, Body: vr.JSON, BodyErr: bodyErr, Raw: unsafe.String(unsafe.SliceData(vr.Body), len(vr.Body)), Query: query,
		Method: method, Path: path, RemoteAddr: remote, ReceivedAt: vr.Now}).Bind()
	var evalErrs []string
	env.ID = src.Verifier.DeliveryID(vr)
	if src.ID != nil {
		if v, err := rules.EvalString(src.ID, env); err != nil {
			evalErrs = append(evalErrs, "id: "+err.Error())
		} else if v != "" {
			env.ID = v
		}
	}
	if env.ID == "" {
		env.ID = verify.BodyHash(src.Name, vr.Body)
	}
	env.Event = src.Verifier.Event(vr)
	if src.Event != nil {
		if v, err := rules.EvalString(src.Event, env); err != nil {
			evalErrs = append(evalErrs, "event: "+err.Error())
		} else {
			env.Event = v
		}
	}
	return env, evalErrs
}
