package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
)

// mailgunFields are the signed fields and the event type of a body; json
// says whether they came from a JSON body's signature object (for the
// names in refusals).
type mailgunFields struct {
	ts, token, sig, parent, event string
	json                          bool
}

// fieldName is how a refusal names signed field f.
func (f mailgunFields) fieldName(name string) string {
	if f.json {
		return "signature." + name
	}
	return "form field " + name
}

// readMailgun reads the signed fields of a Mailgun body by its
// Content-Type: a URL-encoded form (routes, legacy webhooks), a
// multipart/form-data form (routes, for a message with attachments, and
// raw MIME forwards), else JSON (webhooks). Errors say what is wrong with
// the body, for the log.
func readMailgun(r *Request) (mailgunFields, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return mailgunFields{}, fmt.Errorf("form body is malformed: %v", err)
		}
		return mailgunFields{ts: q.Get("timestamp"), token: q.Get("token"), sig: q.Get("signature"), event: q.Get("event")}, nil
	case "multipart/form-data":
		return readMailgunMultipart(params["boundary"], r.Body)
	}
	f, err := readMailgunJSON(r.Body)
	if err != nil && mt != "" && mt != "application/json" {
		err = fmt.Errorf("%w (Content-Type %q is neither JSON nor a form)", err, mt)
	}
	return f, err
}

// mailgunFieldMax bounds a signed field's value in a multipart body: the
// token is 50 characters, the signature 64, the timestamp 10.
const mailgunFieldMax = 1024

// readMailgunMultipart reads the signed fields of a multipart/form-data
// body from memory (the body is already read, within max_body): the first
// part of each name wins, as in a URL-encoded form; file parts and the
// other fields are skipped, never stored.
func readMailgunMultipart(boundary string, body []byte) (mailgunFields, error) {
	if boundary == "" {
		return mailgunFields{}, errors.New("multipart/form-data body without a boundary in its Content-Type")
	}
	vals := map[string]string{"timestamp": "", "token": "", "signature": "", "event": ""}
	seen := map[string]bool{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	parts := 0
	for ; ; parts++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && parts == 0 {
			return mailgunFields{}, errors.New("multipart/form-data body holds no part (is the boundary of its Content-Type the one in the body?)")
		}
		if err != nil {
			return mailgunFields{}, fmt.Errorf("multipart/form-data body is malformed: %v", err)
		}
		name := p.FormName()
		if _, want := vals[name]; !want || seen[name] || p.FileName() != "" {
			continue // NextPart skips what is left of the part
		}
		seen[name] = true
		v, err := io.ReadAll(io.LimitReader(p, mailgunFieldMax+1))
		if err != nil {
			return mailgunFields{}, fmt.Errorf("multipart/form-data body is malformed in field %s: %v", name, err)
		}
		if len(v) > mailgunFieldMax {
			return mailgunFields{}, fmt.Errorf("multipart field %s is longer than %d bytes", name, mailgunFieldMax)
		}
		vals[name] = string(v)
	}
	if parts == 0 {
		return mailgunFields{}, errors.New("multipart/form-data body holds no part")
	}
	return mailgunFields{ts: vals["timestamp"], token: vals["token"], sig: vals["signature"], event: vals["event"]}, nil
}

// readMailgunJSON reads a JSON body's signature object. Mailgun's reference
// types its timestamp as an integer and its examples quote it: either is
// taken.
func readMailgunJSON(body []byte) (mailgunFields, error) {
	f := mailgunFields{json: true}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case len(bytes.TrimSpace(body)) == 0:
			return f, errors.New("body is empty")
		case errors.As(err, &se):
			return f, fmt.Errorf("body is not valid JSON: %v at byte %d", se, se.Offset)
		case errors.As(err, &te):
			return f, fmt.Errorf("JSON body is %s %s, not an object", article(te.Value), te.Value)
		}
		return f, fmt.Errorf("body is not valid JSON: %v", err)
	}
	if top == nil {
		return f, errors.New("JSON body is null, not an object")
	}
	raw, ok := top["signature"]
	if !ok {
		return f, errors.New("JSON body has no signature object")
	}
	var s map[string]json.RawMessage
	if err := json.Unmarshal(raw, &s); err != nil || s == nil {
		return f, fmt.Errorf("JSON body's signature is %s, not an object", jsonKind(raw))
	}
	for _, fld := range []struct {
		key    string
		dst    *string
		number bool
	}{{"timestamp", &f.ts, true}, {"token", &f.token, false}, {"signature", &f.sig, false}, {"parent-signature", &f.parent, false}} {
		v, err := jsonScalar(s[fld.key], fld.number)
		if err != nil {
			return f, fmt.Errorf("signature.%s %v", fld.key, err)
		}
		*fld.dst = v
	}
	var ev struct{ Event string }
	_ = json.Unmarshal(top["event-data"], &ev) // the event type is not signed: a bad one is ""
	f.event = ev.Event
	return f, nil
}

// jsonScalar returns a JSON string's value, or with number set a JSON
// number's text; null and absence are "".
func jsonScalar(raw json.RawMessage, number bool) (string, error) {
	switch k := jsonKind(raw); {
	case k == "absent" || k == "null":
		return "", nil
	case k == "a string":
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case k == "a number" && number:
		return string(raw), nil
	case number:
		return "", fmt.Errorf("is %s, not a string or a number", k)
	default:
		return "", fmt.Errorf("is %s, not a string", k)
	}
}

// jsonKind names the kind of a valid JSON value, for messages.
func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "absent"
	}
	switch c := t[0]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "a boolean"
	}
	return "a number"
}

// article is "an" before a vowel, else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}
