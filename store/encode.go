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
// or, for a body that compresses well, the same with the body compressed
// (recS2, see pack.go).
//
// The body is kept as raw bytes, so recording a webhook copies its body
// once and never scans, escapes or base64-encodes it: a 7 KB GitHub push
// would otherwise cost more to encode than to verify. Records written by
// earlier versions are one JSON object (its body in base64 under "body",
// or as JSON under "body_json"); decodeEvent reads all four.
const (
	recBody   = 0x01 // a body follows
	recNoBody = 0x02 // the event has no body (nil)
)

// appendEvent appends ev's record to b. Its JSON part has the fields,
// names and omissions encoding/json would give an Event without its body,
// written without reflection: every webhook pays for this encoding on its
// request's goroutine.
func appendEvent(b []byte, ev *Event) []byte {
	packed := false
	if ev.Body != nil {
		b, packed = appendPacked(b, ev.Body)
	}
	switch {
	case packed:
	case ev.Body == nil:
		b = append(b, recNoBody)
	default:
		b = append(b, recBody)
		b = binary.AppendUvarint(b, uint64(len(ev.Body)))
		b = append(b, ev.Body...)
	}
	return AppendEventJSON(b, ev)
}

// AppendEventJSON appends ev without its body as one JSON object, with
// the fields, names and omissions encoding/json would give it, written
// without reflection (a shared store's event rows are this).
func AppendEventJSON(b []byte, ev *Event) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, ev.ID, 10)
	b = appendField(b, "source", ev.Source)
	b = appendField(b, "delivery_id", ev.DeliveryID)
	b = appendField(b, "event", ev.Event)
	b = appendTime(b, "received_at", ev.ReceivedAt)
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
	if len(ev.Rematched) > 0 {
		b = append(b, `,"rematched":`...)
		b = appendStrings(b, ev.Rematched)
	}
	if len(ev.Redeliveries) > 0 { // rare: encoding/json will do
		r, _ := json.Marshal(ev.Redeliveries)
		b = append(b, `,"redeliveries":`...)
		b = append(b, r...)
	}
	if ev.Answer != nil { // rare too
		r, _ := json.Marshal(ev.Answer)
		b = append(b, `,"answer":`...)
		b = append(b, r...)
	}
	if k := ev.Kept; k != nil {
		b = append(b, `,"kept":{"what":`...)
		b = appendString(b, k.What)
		b = append(b, `,"body_bytes":`...)
		b = strconv.AppendInt(b, int64(k.BodyBytes), 10)
		if k.BodySHA256 != "" {
			b = appendField(b, "body_sha256", k.BodySHA256)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// AppendJobJSON appends j as encoding/json would (the same bytes: Job has
// no maps): each accepted event writes one or two jobs.
func AppendJobJSON(b []byte, j *Job) []byte { return appendJob(b, j) }

func appendJob(b []byte, j *Job) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, j.ID, 10)
	b = append(b, `,"event_id":`...)
	b = strconv.AppendUint(b, j.EventID, 10)
	b = appendField(b, "rule", j.Rule)
	if j.Lane != "" {
		b = appendField(b, "lane", j.Lane)
	}
	if j.Latest {
		b = append(b, `,"latest":true`...)
	}
	b = appendField(b, "state", j.State)
	if len(j.Attempts) > 0 {
		b = append(b, `,"attempts":[`...)
		for i := range j.Attempts {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAttempt(b, &j.Attempts[i])
		}
		b = append(b, ']')
	}
	if !j.NextAt.IsZero() {
		b = appendTime(b, "next_at", j.NextAt)
	}
	if j.Error != "" {
		b = appendField(b, "error", j.Error)
	}
	if len(j.OnFailure) > 0 {
		b = append(b, `,"on_failure":`...)
		b = appendSteps(b, j.OnFailure)
	}
	if j.Failing {
		b = append(b, `,"failing":true`...)
	}
	b = appendTime(b, "created", j.Created)
	b = appendTime(b, "updated", j.Updated)
	return append(b, '}')
}

func appendAttempt(b []byte, a *Attempt) []byte {
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(a.N), 10)
	b = appendTime(b, "start", a.Start)
	if !a.End.IsZero() {
		b = appendTime(b, "end", a.End)
	}
	if len(a.Steps) > 0 {
		b = append(b, `,"steps":`...)
		b = appendSteps(b, a.Steps)
	}
	if a.Error != "" {
		b = appendField(b, "error", a.Error)
	}
	if a.Node != "" {
		b = appendField(b, "node", a.Node)
	}
	return append(b, '}')
}

func appendSteps(b []byte, steps []Step) []byte {
	b = append(b, '[')
	for i := range steps {
		st := &steps[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"action":`...)
		b = strconv.AppendInt(b, int64(st.Action), 10)
		b = appendField(b, "kind", st.Kind)
		b = appendTime(b, "start", st.Start)
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, int64(st.Duration), 10)
		if st.Exit != nil {
			b = append(b, `,"exit":`...)
			b = strconv.AppendInt(b, int64(*st.Exit), 10)
		}
		if st.Status != 0 {
			b = append(b, `,"status":`...)
			b = strconv.AppendInt(b, int64(st.Status), 10)
		}
		if st.Output != "" {
			b = appendField(b, "output", st.Output)
		}
		if st.Error != "" {
			b = appendField(b, "error", st.Error)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendTime writes a time field as time.Time's MarshalJSON does.
func appendTime(b []byte, name string, t time.Time) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

var errBadRecord = errors.New("store: malformed event record")

// splitRecord returns a record's JSON part and its body as stored: for
// recS2, its checksum and block, which unpack reads. body is nil for a
// record of an earlier version, whose body is in its JSON.
func splitRecord(v []byte) (js, body []byte, err error) {
	if len(v) == 0 {
		return nil, nil, errBadRecord
	}
	switch v[0] {
	case recBody, recS2:
		body, rest, ok := cutPrefixed(v[1:], v[0] == recS2)
		if !ok {
			return nil, nil, errBadRecord
		}
		return rest, body, nil
	case recNoBody:
		return v[1:], nil, nil
	}
	return v, nil, nil
}

// cutPrefixed splits v after the bytes its uvarint length prefix counts,
// and 4 more (a checksum) if sum.
func cutPrefixed(v []byte, sum bool) (data, rest []byte, ok bool) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)-k) {
		return nil, nil, false
	}
	end := k + int(n)
	if sum {
		end += 4
	}
	if end > len(v) {
		return nil, nil, false
	}
	return v[k:end], v[end:], true
}

// decodeHead decodes a record's fields but its body, which it skips (a
// compressed one is not decompressed).
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
	if v[0] == recBody || v[0] == recNoBody || v[0] == recS2 {
		if err := json.Unmarshal(js, ev); err != nil {
			return err
		}
		switch v[0] {
		case recBody:
			ev.Body = append(make([]byte, 0, len(body)), body...)
		case recS2:
			ev.Body, err = unpack(body)
		default:
			ev.Body = nil
		}
		return err
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
