package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// A stored event is a format byte, then the body as it arrived, prefixed
// with its length, then every other field as JSON:
//
//	recBody | uvarint(len(body)) | body | {"id":…,"source":…,…}
//
// The body is kept as raw bytes, so recording a webhook copies its body
// once and never scans, escapes or base64-encodes it: a 7 KB GitHub push
// would otherwise cost more to encode than to verify. Records written by
// earlier versions are one JSON object (its body in base64 under "body",
// or as JSON under "body_json"); decodeEvent reads all three.
const (
	recBody   = 0x01 // a body follows
	recNoBody = 0x02 // the event has no body (nil)
)

// appendEvent appends ev's record to b. Its JSON part has the fields,
// names and omissions encoding/json would give an Event without its body,
// written without reflection: every webhook pays for this encoding on its
// request's goroutine.
func appendEvent(b []byte, ev *Event) []byte {
	if ev.Body == nil {
		b = append(b, recNoBody)
	} else {
		b = append(b, recBody)
		b = binary.AppendUvarint(b, uint64(len(ev.Body)))
		b = append(b, ev.Body...)
	}
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

var errBadRecord = errors.New("store: malformed event record")

// splitRecord returns a record's JSON part and its body; body is nil for
// a record of an earlier version, whose body is in its JSON.
func splitRecord(v []byte) (js, body []byte, err error) {
	if len(v) == 0 {
		return nil, nil, errBadRecord
	}
	switch v[0] {
	case recBody:
		n, k := binary.Uvarint(v[1:])
		if k <= 0 || n > uint64(len(v)-1-k) {
			return nil, nil, errBadRecord
		}
		return v[1+k+int(n):], v[1+k : 1+k+int(n)], nil
	case recNoBody:
		return v[1:], nil, nil
	}
	return v, nil, nil
}

// decodeHead decodes a record's fields but its body, which it skips.
func decodeHead(v []byte, h any) error {
	js, _, err := splitRecord(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(js, h)
}

// decodeEvent decodes a stored event, in this version's format or an
// earlier one. The body is copied: v belongs to a read transaction.
func decodeEvent(v []byte, ev *Event) error {
	js, body, err := splitRecord(v)
	if err != nil {
		return err
	}
	if v[0] == recBody || v[0] == recNoBody {
		if err := json.Unmarshal(js, ev); err != nil {
			return err
		}
		ev.Body = nil
		if v[0] == recBody {
			ev.Body = append(make([]byte, 0, len(body)), body...)
		}
		return nil
	}
	x := struct {
		*Event
		BodyJSON json.RawMessage `json:"body_json"`
	}{Event: ev}
	if err := json.Unmarshal(js, &x); err != nil {
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
