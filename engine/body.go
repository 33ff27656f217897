package engine

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"hookd/internal/jsonval"
)

// A body reaches `body` in two steps. decodeContent undoes the
// Content-Encoding, before verification: senders that compress sign the
// JSON they compressed. parseBody (intake.go) then reads the decoded bytes
// by their Content-Type; what it cannot read is nil with the reason, never
// a silent nil.

// errDecodedTooLarge is a body that inflates past max_body: 413.
var errDecodedTooLarge = errors.New("decoded body over max_body")

// encodingError is a Content-Encoding hookd does not decode: 415.
type encodingError struct{ coding string }

func (e *encodingError) Error() string {
	return fmt.Sprintf("unsupported Content-Encoding %q: hookd decodes gzip and deflate", e.coding)
}

// maxCodings bounds a stack of encodings ("gzip, gzip, ..."): each layer
// is bounded by max_body, but nothing sends more than two.
const maxCodings = 4

// decodeContent undoes the codings of a Content-Encoding header (values
// joined by commas), last applied first, reading at most max decoded bytes
// of each: a small body that inflates to gigabytes is refused with
// errDecodedTooLarge once max+1 bytes have come out. An unknown coding is
// an *encodingError; corrupt data is any other error.
func decodeContent(codings []string, body []byte, max int64) ([]byte, error) {
	var list []string
	for _, v := range codings {
		for _, c := range strings.Split(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				list = append(list, c)
			}
		}
	}
	if len(list) > maxCodings {
		return nil, fmt.Errorf("%d content codings, at most %d are decoded", len(list), maxCodings)
	}
	for i := len(list) - 1; i >= 0; i-- {
		var r io.Reader
		var err error
		switch c := list[i]; c {
		case "gzip", "x-gzip": // RFC 9110 8.4.1.3: x-gzip is gzip
			r, err = gzip.NewReader(bytes.NewReader(body))
		case "deflate":
			// RFC 9110 says zlib (RFC 1950); some senders send raw
			// deflate (RFC 1951), told apart by zlib's header check.
			if len(body) >= 2 && body[0]&0x0f == 8 && (uint16(body[0])<<8|uint16(body[1]))%31 == 0 {
				r, err = zlib.NewReader(bytes.NewReader(body))
			} else {
				r = flate.NewReader(bytes.NewReader(body))
			}
		default:
			return nil, &encodingError{coding: c}
		}
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(r, max+1))
		}
		if err == nil && int64(len(body)) > max {
			return nil, errDecodedTooLarge
		}
		if err != nil {
			return nil, &corruptError{coding: list[i], err: err}
		}
	}
	return body, nil
}

// corruptError is a coding's data that does not decode: "gzip: invalid
// header", the coding named once (compress/gzip's, zlib's and flate's
// errors name their package).
type corruptError struct {
	coding string
	err    error
}

func (e *corruptError) Error() string {
	msg := e.err.Error()
	for _, pkg := range []string{"gzip: ", "zlib: ", "flate: "} {
		msg = strings.TrimPrefix(msg, pkg)
	}
	return e.coding + ": " + msg
}

func (e *corruptError) Unwrap() error { return e.err }

// bodyRefusal maps a read or decode error to intake's answer.
func bodyRefusal(err error) (status int, outcome, msg string) {
	var mbe *http.MaxBytesError
	var ee *encodingError
	switch {
	case errors.As(err, &mbe), errors.Is(err, errDecodedTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large", "body too large"
	case errors.As(err, &ee):
		return http.StatusUnsupportedMediaType, "unsupported_encoding", ee.Error()
	}
	return http.StatusBadRequest, "bad_request", "could not read body"
}

// bom is the UTF-8 byte-order mark, which RFC 8259 8.1 lets a parser
// ignore (SharePoint Online sends one).
var bom = []byte("\xef\xbb\xbf")

// parseOther reads what parseBody leaves to it, by media type:
// multipart/form-data, XML, JSON (+json, or no Content-Type), and JSON
// under another type when it starts with { or [. An empty body is nil. Any
// other body is nil with an error saying why, which rules that read body
// report.
func parseOther(mt string, params map[string]string, raw []byte) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	switch {
	case mt == "multipart/form-data":
		return parseMultipart(params["boundary"], raw)
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return parseXML(raw)
	case strings.HasSuffix(mt, "json"): // +json, x-json; ndjson fails as JSON would
		return parseJSON(raw)
	case mt == "": // none: JSON is the norm
		v, err := readJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("body: no Content-Type, and %w", err)
		}
		return v, nil
	}
	if first := bytes.TrimLeft(bytes.TrimPrefix(raw, bom), " \t\r\n"); len(first) > 0 && (first[0] == '{' || first[0] == '[') {
		return parseJSON(raw)
	}
	return nil, fmt.Errorf("body: Content-Type %q is not parsed; raw holds the body", mt)
}

// parseJSON is decodeJSON with a leading BOM skipped and an error that
// says where the document broke.
func parseJSON(raw []byte) (any, error) {
	v, err := readJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return v, nil
}

// readJSON is parseJSON with an error that does not say where the JSON
// was; it counts bytes as received, the BOM included.
func readJSON(raw []byte) (any, error) {
	skip := 0
	if bytes.HasPrefix(raw, bom) {
		skip = len(bom)
	}
	if len(bytes.TrimSpace(raw[skip:])) == 0 {
		return nil, nil
	}
	v, err := jsonval.Parse(raw[skip:])
	if err != nil {
		return nil, jsonError(err, skip)
	}
	return v, nil
}

// jsonError is kept out of readJSON: the SyntaxError that errors.As fills
// would otherwise be allocated on every parse.
func jsonError(err error, skip int) error {
	var se *jsonval.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset+skip, se.Msg)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}
