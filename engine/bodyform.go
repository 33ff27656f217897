package engine

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// maxParts bounds a multipart body's parts; max_body bounds their bytes.
const maxParts = 1000

// parseMultipart reads multipart/form-data (Plex posts its JSON in a part
// named payload beside a JPEG named thumb). A text field is its string, or
// its parsed value when it is JSON (declared, or starting with { or [); a
// file part (a filename, or a type that is not text) is described by name,
// filename, content_type and size, its bytes never loaded into expressions.
// The first part of a name wins, as with forms.
func parseMultipart(boundary string, raw []byte) (any, error) {
	if boundary == "" {
		return nil, errors.New("body: multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	fields := map[string]any{}
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, nil
		}
		if err != nil {
			return nil, fmt.Errorf("body: invalid multipart: %w", err)
		}
		if n == maxParts {
			return nil, fmt.Errorf("body: more than %d multipart parts", maxParts)
		}
		name := p.FormName()
		if _, seen := fields[name]; seen || name == "" {
			continue
		}
		v, err := partValue(p)
		if err != nil {
			return nil, fmt.Errorf("body: part %q: %w", name, err)
		}
		fields[name] = v
	}
}

func partValue(p *multipart.Part) (any, error) {
	ct := p.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	textual := mt == "" || strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "xml")
	if p.FileName() != "" || !textual {
		size, err := io.Copy(io.Discard, p)
		if err != nil {
			return nil, fmt.Errorf("invalid multipart: %w", err)
		}
		return map[string]any{"name": p.FormName(), "filename": p.FileName(), "content_type": ct, "size": int(size)}, nil
	}
	data, err := io.ReadAll(p)
	if err != nil {
		return nil, fmt.Errorf("invalid multipart: %w", err)
	}
	declared := strings.HasSuffix(mt, "json")
	if t := bytes.TrimLeft(bytes.TrimPrefix(data, bom), " \t\r\n"); declared || len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		v, err := readJSON(data)
		if err == nil || declared {
			return v, err
		}
	}
	return string(data), nil
}

// maxXMLDepth bounds element nesting, as jsonval bounds JSON's.
const maxXMLDepth = 10000

// xmlElem is an element being read: its attributes and children, and its
// text.
type xmlElem struct {
	name string
	m    map[string]any
	text strings.Builder
}

func (e *xmlElem) add(key string, v any) {
	if e.m == nil {
		e.m = map[string]any{}
	}
	switch prev := e.m[key].(type) {
	case nil:
		e.m[key] = v
	case []any: // element values are strings or maps: a list is a repeat
		e.m[key] = append(prev, v)
	default:
		e.m[key] = []any{prev, v}
	}
}

// value is the element's text when it has neither attributes nor
// children, else a map whose "#text" holds any text.
func (e *xmlElem) value() any {
	text := strings.TrimSpace(e.text.String())
	if e.m == nil {
		return text
	}
	if text != "" {
		e.m["#text"] = text
	}
	return e.m
}

// parseXML maps an XML document to a value: {root: value}, where an
// element is its text if it has no attributes or children, else a map of
// "@attribute" to its value, child name to the child's value (a list when
// the name repeats) and "#text" to its text. Names are local (namespace
// prefixes dropped, xmlns declarations skipped); every value is a string.
func parseXML(raw []byte) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(raw, bom)))
	dec.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("encoding %q is not read, only UTF-8", label)
	}
	var stack []*xmlElem
	var root map[string]any
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && root != nil {
				return nil, errors.New("body: invalid XML: more than one root element")
			}
			if len(stack) == maxXMLDepth {
				return nil, fmt.Errorf("body: invalid XML: nesting deeper than %d", maxXMLDepth)
			}
			e := &xmlElem{name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
					e.add("@"+a.Name.Local, a.Value)
				}
			}
			stack = append(stack, e)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			e := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				root = map[string]any{e.name: e.value()}
			} else {
				stack[len(stack)-1].add(e.name, e.value())
			}
		}
	}
	if root == nil {
		return nil, errors.New("body: invalid XML: no element")
	}
	return root, nil
}

func xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("body: invalid XML on line %d: %s", se.Line, se.Msg)
	}
	return fmt.Errorf("body: invalid XML: %w", err)
}
