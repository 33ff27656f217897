// Package jsonval parses JSON documents into plain Go values.
//
// It exists because webhook bodies are parsed on every request so that rule
// expressions can read fields such as body.ref, and doing that with
// encoding/json (Decoder.UseNumber, Decode into any, then converting each
// json.Number) dominated the intake profile. Parse gives exactly the results
// of that encoding/json pipeline — the same accepted inputs, the same values —
// in a single pass without reflection, and without allocating for strings
// that need no unescaping.
package jsonval

import (
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is encoding/json's maxNestingDepth: 10000 nested arrays or
// objects are accepted, one more is an error.
const maxDepth = 10000

// Number is a whole number beyond int64, as the sender wrote it: a float64
// would turn 12345678901234567890 into 12345678901234567000. It renders as
// written, in text and in JSON.
type Number string

func (n Number) String() string { return string(n) }

// MarshalJSON writes the number as it was read.
func (n Number) MarshalJSON() ([]byte, error) { return []byte(n), nil }

// Parse decodes data, one JSON value with optional whitespace around it.
//
// Objects become map[string]any (the last of duplicate keys wins), arrays
// []any, strings string, true and false bool, and null nil. A number becomes
// an int if strconv.ParseInt accepts it; a whole number beyond int64
// (12345678901234567890, with no fraction or exponent) a Number holding its
// literal text; otherwise the float64 from strconv.ParseFloat, or, when that
// is out of range (1e400), its literal text as a string.
//
// Strings are repaired as encoding/json does: invalid UTF-8 bytes and
// unpaired surrogate escapes become U+FFFD.
func Parse(data []byte) (any, error) {
	p := parsers.Get().(*parser)
	// One conversion for the whole input; plain strings are substrings of it.
	p.s = string(data)
	p.pos = 0
	v, err := p.parse()
	p.release()
	return v, err
}

// parsers keeps the scratch stacks of earlier calls, so a steady stream of
// webhook bodies does not regrow them every time.
var parsers = sync.Pool{New: func() any { return new(parser) }}

// maxScratch bounds the scratch capacity kept in the pool, so one huge
// document does not pin its memory.
const maxScratch = 1 << 12

type parser struct {
	s   string
	pos int

	// Members of the open objects and arrays, innermost last. A container's
	// map or slice is made only when it closes, at its exact size.
	keys   []string
	vals   []any
	frames []frame

	buf []byte // unescaping scratch for strings that need it
}

// frame is an open object or array: where its members start on the scratch
// stacks.
type frame struct {
	object bool
	keys   int
	vals   int
}

func (p *parser) release() {
	// Drop references so pooled scratch does not keep documents alive.
	clear(p.keys)
	clear(p.vals)
	p.keys, p.vals, p.frames, p.buf = p.keys[:0], p.vals[:0], p.frames[:0], p.buf[:0]
	p.s = ""
	if cap(p.keys) > maxScratch || cap(p.vals) > maxScratch || cap(p.frames) > maxScratch || cap(p.buf) > maxScratch*16 {
		return
	}
	parsers.Put(p)
}

// parse reads the whole document. It loops instead of recursing, so the
// nesting depth costs heap scratch rather than goroutine stack.
func (p *parser) parse() (any, error) {
	p.skipSpace()
value:
	for {
		// A value starts at p.pos.
		var v any
		if p.pos >= len(p.s) {
			return nil, p.errEOF()
		}
		switch p.s[p.pos] {
		case '{', '[':
			object := p.s[p.pos] == '{'
			if len(p.frames) >= maxDepth {
				return nil, &SyntaxError{Msg: fmt.Sprintf("nesting deeper than %d", maxDepth), Offset: p.pos}
			}
			p.pos++
			p.frames = append(p.frames, frame{object: object, keys: len(p.keys), vals: len(p.vals)})
			p.skipSpace()
			if p.pos < len(p.s) && p.s[p.pos] == closer(object) {
				p.pos++
				v = p.close()
				break // an empty container is a complete value
			}
			if object {
				if err := p.key(); err != nil {
					return nil, err
				}
			}
			continue value
		default:
			var err error
			if v, err = p.scalar(); err != nil {
				return nil, err
			}
		}

		// v is complete: add it to its container, closing every container
		// that ends right after it.
		for {
			p.skipSpace()
			if len(p.frames) == 0 {
				if p.pos < len(p.s) {
					return nil, p.errChar("after top-level value")
				}
				return v, nil
			}
			p.vals = append(p.vals, v)
			if p.pos >= len(p.s) {
				return nil, p.errEOF()
			}
			c := p.s[p.pos]
			object := p.frames[len(p.frames)-1].object
			switch {
			case c == ',':
				p.pos++
				p.skipSpace()
				if object {
					if err := p.key(); err != nil {
						return nil, err
					}
				}
				continue value
			case c == closer(object):
				p.pos++
				v = p.close()
			default:
				if object {
					return nil, p.errChar("after object value")
				}
				return nil, p.errChar("after array element")
			}
		}
	}
}

func closer(object bool) byte {
	if object {
		return '}'
	}
	return ']'
}

// close pops the innermost container and builds its value.
func (p *parser) close() any {
	f := p.frames[len(p.frames)-1]
	p.frames = p.frames[:len(p.frames)-1]
	vals := p.vals[f.vals:]
	p.vals = p.vals[:f.vals]
	if !f.object {
		a := make([]any, len(vals))
		copy(a, vals)
		clear(vals)
		return a
	}
	keys := p.keys[f.keys:]
	p.keys = p.keys[:f.keys]
	m := make(map[string]any, len(vals))
	for i, k := range keys {
		m[k] = vals[i] // in document order, so the last duplicate wins
	}
	clear(keys)
	clear(vals)
	return m
}

// key reads an object key and the colon after it, leaving p.pos at the
// value (after any whitespace).
func (p *parser) key() error {
	if p.pos >= len(p.s) {
		return p.errEOF()
	}
	if p.s[p.pos] != '"' {
		return p.errChar("looking for beginning of object key string")
	}
	k, err := p.str()
	if err != nil {
		return err
	}
	p.keys = append(p.keys, k)
	p.skipSpace()
	if p.pos >= len(p.s) {
		return p.errEOF()
	}
	if p.s[p.pos] != ':' {
		return p.errChar("after object key")
	}
	p.pos++
	p.skipSpace()
	return nil
}

// scalar reads a string, number, true, false or null at p.pos.
func (p *parser) scalar() (any, error) {
	switch c := p.s[p.pos]; {
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.errChar("looking for beginning of value")
}

func (p *parser) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if p.pos >= len(p.s) {
			return p.errEOF()
		}
		if p.s[p.pos] != lit[i] {
			return p.errChar("in literal " + lit)
		}
		p.pos++
	}
	return nil
}

// number reads a number with JSON's grammar:
// -? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?
func (p *parser) number() (any, error) {
	start := p.pos
	neg := p.s[p.pos] == '-'
	if neg {
		p.pos++
	}
	if p.pos >= len(p.s) {
		return nil, p.errEOF()
	}
	switch c := p.s[p.pos]; {
	case c == '0':
		p.pos++
	case '1' <= c && c <= '9':
		p.digits()
	default:
		return nil, p.errChar("in numeric literal")
	}
	intEnd := p.pos
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		p.pos++
		if err := p.needDigits(); err != nil {
			return nil, err
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.s) && (p.s[p.pos] == '+' || p.s[p.pos] == '-') {
			p.pos++
		}
		if err := p.needDigits(); err != nil {
			return nil, err
		}
	}
	lit := p.s[start:p.pos]

	// Short integers cannot overflow int64: skip strconv for the common case.
	if p.pos == intEnd {
		digits := lit
		if neg {
			digits = lit[1:]
		}
		if len(digits) <= 18 {
			n := 0
			for i := 0; i < len(digits); i++ {
				n = n*10 + int(digits[i]-'0')
			}
			if neg {
				n = -n
			}
			return n, nil
		}
	}
	// The same conversions, in the same order, as the json.Number walk.
	if i, err := strconv.ParseInt(lit, 10, 0); err == nil {
		return int(i), nil
	}
	if p.pos == intEnd {
		return Number(lit), nil
	}
	if f, err := strconv.ParseFloat(lit, 64); err == nil {
		return f, nil
	}
	return lit, nil
}

func (p *parser) digits() {
	for p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9' {
		p.pos++
	}
}

// needDigits reads one or more digits.
func (p *parser) needDigits() error {
	if p.pos >= len(p.s) {
		return p.errEOF()
	}
	if c := p.s[p.pos]; c < '0' || c > '9' {
		return p.errChar("in numeric literal")
	}
	p.digits()
	return nil
}

// plain marks the bytes a string can hold without any work: not a quote,
// backslash, control character or the start of a multi-byte sequence.
var plain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string literal starting at the quote at p.pos.
func (p *parser) str() (string, error) {
	p.pos++
	start := p.pos
	s := p.s
	i := p.pos
	for i < len(s) {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c == '"' {
			p.pos = i + 1
			return s[start:i], nil
		}
		if c < utf8.RuneSelf {
			break // escape or control character
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	p.pos = i
	return p.unquote(start)
}

// unquote finishes a string that needs rewriting; the bytes from start to
// p.pos are plain. It follows encoding/json's unquote: escapes are decoded,
// surrogate pairs combined, and lone surrogates and invalid UTF-8 bytes
// each become U+FFFD.
func (p *parser) unquote(start int) (string, error) {
	s := p.s
	b := append(p.buf[:0], s[start:p.pos]...)
	i := p.pos
	for {
		if i >= len(s) {
			p.pos = i
			return "", p.errEOF()
		}
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.buf = b
			return string(b), nil
		case c == '\\':
			if i+1 >= len(s) {
				p.pos = i + 1
				return "", p.errEOF()
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, err := p.hex4(i + 2)
				if err != nil {
					return "", err
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// As utf16.DecodeRune: a high surrogate followed by a
					// \u escape of a low one is a pair; any other
					// surrogate is replaced and the next escape left alone.
					d := utf16.DecodeRune(r, getu4(s[i:]))
					if d != utf8.RuneError {
						i += 6
					}
					r = d
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				p.pos = i + 1
				return "", p.errChar("in string escape code")
			}
			i += 2
		case c < ' ':
			p.pos = i
			return "", p.errChar("in string literal")
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
}

// hex4 validates the four hex digits of a \u escape starting at i and
// returns their value.
func (p *parser) hex4(i int) (rune, error) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(p.s) {
			p.pos = j
			return 0, p.errEOF()
		}
		d := unhex(p.s[j])
		if d < 0 {
			p.pos = j
			return 0, p.errChar("in \\u hexadecimal character escape")
		}
		r = r<<4 | d
	}
	return r, nil
}

// getu4 decodes a \uXXXX escape at the start of s, or returns -1.
func getu4(s string) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for i := 2; i < 6; i++ {
		d := unhex(s[i])
		if d < 0 {
			return -1
		}
		r = r<<4 | d
	}
	return r
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// SyntaxError says what is wrong with a document and where: Offset is the
// byte at which Parse stopped.
type SyntaxError struct {
	Msg    string
	Offset int
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("jsonval: %s at offset %d", e.Msg, e.Offset) }

func (p *parser) errEOF() error {
	return &SyntaxError{Msg: "unexpected end of input", Offset: p.pos}
}

func (p *parser) errChar(context string) error {
	c := p.s[p.pos]
	var q string
	if c < utf8.RuneSelf {
		q = strconv.QuoteRune(rune(c))
	} else {
		q = fmt.Sprintf("byte 0x%02x", c)
	}
	return &SyntaxError{Msg: fmt.Sprintf("invalid character %s %s", q, context), Offset: p.pos}
}
