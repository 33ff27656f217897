package store

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEvent encodes ev as encoding/json would (the same fields, names and
// omissions; map keys unsorted), without reflection: every webhook pays for
// this encoding on its request's goroutine. One difference: a body that is
// one JSON document is kept as it is, under body_json, rather than in
// base64 under body, a third smaller; decodeEvent reads both.
func appendEvent(b []byte, ev *Event) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, ev.ID, 10)
	b = appendField(b, "source", ev.Source)
	b = appendField(b, "delivery_id", ev.DeliveryID)
	b = appendField(b, "event", ev.Event)
	b = append(b, `,"received_at":"`...)
	b = ev.ReceivedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "method", ev.Method)
	b = appendField(b, "path", ev.Path)
	b = appendField(b, "remote_addr", ev.RemoteAddr)
	b = append(b, `,"headers":`...)
	b = appendMap(b, ev.Headers, true)
	if len(ev.Query) > 0 {
		b = append(b, `,"query":`...)
		b = appendMap(b, ev.Query, false)
	}
	switch {
	case ev.Body == nil:
		b = append(b, `,"body":null`...)
	case rawJSON(ev.Body):
		b = append(b, `,"body_json":`...)
		b = append(b, ev.Body...)
	default:
		b = append(b, `,"body":"`...)
		b = base64.StdEncoding.AppendEncode(b, ev.Body)
		b = append(b, '"')
	}
	b = appendField(b, "status", ev.Status)
	if len(ev.Rules) > 0 {
		b = append(b, `,"rules":`...)
		b = appendStrings(b, ev.Rules)
	}
	if len(ev.Jobs) > 0 {
		b = append(b, `,"jobs":[`...)
		for i, j := range ev.Jobs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, j, 10)
		}
		b = append(b, ']')
	}
	if len(ev.Errors) > 0 {
		b = append(b, `,"errors":`...)
		b = appendStrings(b, ev.Errors)
	}
	return append(b, '}')
}

// rawJSON reports whether body can be stored as it is: one JSON value with
// no whitespace around it, which decoding would not give back.
func rawJSON(body []byte) bool {
	if len(body) == 0 || isSpace(body[0]) || isSpace(body[len(body)-1]) {
		return false
	}
	return json.Valid(body)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// decodeEvent decodes a stored event, whichever way its body was stored.
func decodeEvent(v []byte, ev *Event) error {
	x := struct {
		*Event
		BodyJSON json.RawMessage `json:"body_json"`
	}{Event: ev}
	if err := json.Unmarshal(v, &x); err != nil {
		return err
	}
	if x.BodyJSON != nil {
		ev.Body = []byte(x.BodyJSON)
	}
	return nil
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendMap(b []byte, m map[string]string, nullIfNil bool) []byte {
	if m == nil && nullIfNil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	first := true
	for k, v := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, v)
	}
	return append(b, '}')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString quotes s for JSON as encoding/json does: control characters
// and the HTML-sensitive <, >, & escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
