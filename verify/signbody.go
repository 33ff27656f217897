package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// BodyError is a body that cannot be signed as given; Offset is the byte
// at which it goes wrong, or -1, so that `hookd sign` can name the line
// and column in the body's file.
type BodyError struct {
	Offset int
	Msg    string
}

func (e *BodyError) Error() string { return e.Msg }

// setJSONField returns the JSON object body with key set to v. Keys come
// out sorted and the values compact: the result is a new body, which is
// signed as it is. A body that is not a JSON object is a *BodyError that
// begins with want.
func setJSONField(body []byte, key string, v any, want string) ([]byte, error) {
	obj := map[string]json.RawMessage{}
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, notJSONObject(body, err, want)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	obj[key] = raw
	return json.Marshal(obj)
}

// notJSONObject says why body, which failed to decode as a JSON object
// with err, is not one: where its syntax is wrong, or what it is instead.
func notJSONObject(body []byte, err error, want string) *BodyError {
	var se *json.SyntaxError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return &BodyError{-1, want + "; it is empty"}
	case errors.As(err, &se):
		off := int(se.Offset) - 1 // the offending byte is the last one read
		if off < 0 || int(se.Offset) >= len(body) {
			off = len(body)
		}
		return &BodyError{off, fmt.Sprintf("%s; it is not valid JSON: %v", want, se)}
	}
	return &BodyError{-1, fmt.Sprintf("%s; it is JSON, but %s", want, jsonKind(bytes.TrimSpace(body)))}
}
