package rules

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// scalarPos finds where byte offset at of scalar n's value is written in
// text (the file, its references as placeholders of the same length), as
// a 1-based line and column. A value is not a copy of its text: folding
// (> blocks, and plain and quoted scalars over several lines) turns line
// breaks into spaces and drops indentation, and quotes have escapes. The
// value and the text are walked together, a blank of one against the
// blanks of the other. ok is false when they part (a ${VAR} expanded to
// a value of another length), and the caller falls back to arithmetic.
func scalarPos(text string, refs []ref, n *yaml.Node, at int) (line, col int, ok bool) {
	si, ok := nodeOffset(text, n)
	if !ok || at > len(n.Value) {
		return 0, 0, false
	}
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		si++
	case yaml.LiteralStyle, yaml.FoldedStyle:
		si = skipLine(text, si) + 1
	}
	v, dq, sq := n.Value, n.Style == yaml.DoubleQuotedStyle, n.Style == yaml.SingleQuotedStyle
	for vi := 0; vi < at; {
		if si >= len(text) {
			return 0, 0, false
		}
		sc, vc := text[si], v[vi]
		if k, w, ok := placeholderAt(text[si:], len(refs)); ok {
			// A reference: its value in the value, its placeholder (as
			// long as the reference) in the text.
			val := refs[k].value
			if !strings.HasPrefix(v[vi:], val) {
				return 0, 0, false
			}
			if vi+len(val) > at {
				break // the place is inside the value: the reference
			}
			si, vi = si+w, vi+len(val)
			continue
		}
		switch {
		case dq && sc == '\\':
			r, w := unescape(text[si:])
			if w == 0 {
				return 0, 0, false
			}
			si += w
			if r < 0 { // an escaped line break: nothing in the value
				continue
			}
			vr, vw := utf8.DecodeRuneInString(v[vi:])
			if r != vr {
				return 0, 0, false
			}
			vi += vw
		case sq && sc == '\'' && vc == '\'' && si+1 < len(text) && text[si+1] == '\'':
			si, vi = si+2, vi+1
		case sc == vc, isBlank(sc) && isBlank(vc):
			si, vi = si+1, vi+1
		case isBlank(sc):
			si++
		case isBlank(vc):
			vi++ // a line break folded into the value
		default:
			return 0, 0, false
		}
	}
	// Blanks of the text at the place (the indentation of a folded line)
	// are not where the value goes on.
	for at < len(v) && !isBlank(v[at]) && si < len(text) {
		if isBlank(text[si]) {
			si++
		} else if r, w := unescape(text[si:]); dq && text[si] == '\\' && r < 0 && w > 0 {
			si += w
		} else {
			break
		}
	}
	line, col = lineCol(text, si)
	return line, col, true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// placeholderAt reads the placeholder of a reference at the start of s
// (see expandVars): the reference's index and the placeholder's length.
func placeholderAt(s string, refs int) (k, w int, ok bool) {
	r, size := utf8.DecodeRuneInString(s)
	if r != phOpen {
		return 0, 0, false
	}
	w = size
	digits := 0
	for {
		c, size := utf8.DecodeRuneInString(s[w:])
		if c < phDigit || c >= phDigit+phBase {
			break
		}
		k = k*phBase + int(c-phDigit)
		w += size
		digits++
	}
	if digits == 0 || k >= refs {
		return 0, 0, false
	}
	for {
		c, size := utf8.DecodeRuneInString(s[w:])
		if c != phPad {
			break
		}
		w += size
	}
	return k, w, true
}

// nodeOffset is the byte offset in text of n's line and column.
func nodeOffset(text string, n *yaml.Node) (int, bool) {
	if text == "" || n.Line < 1 || n.Column < 1 {
		return 0, false
	}
	starts := lineStarts(text)
	if n.Line > len(starts) {
		return 0, false
	}
	i := starts[n.Line-1]
	for c := 1; c < n.Column; c++ {
		if i >= len(text) || text[i] == '\n' {
			return 0, false
		}
		_, w := utf8.DecodeRuneInString(text[i:])
		i += w
	}
	return i, true
}

// unescape reads the escape at the start of s (a backslash in a
// double-quoted scalar): the rune it stands for, -1 for an escaped line
// break, and its length in s (0: not an escape).
func unescape(s string) (rune, int) {
	if len(s) < 2 {
		return 0, 0
	}
	simple := map[byte]rune{'0': 0, 'a': 7, 'b': 8, 't': 9, '\t': 9, 'n': 10, 'v': 11, 'f': 12, 'r': 13, 'e': 0x1b,
		' ': ' ', '"': '"', '/': '/', '\\': '\\', 'N': 0x85, '_': 0xa0, 'L': 0x2028, 'P': 0x2029}
	if r, ok := simple[s[1]]; ok {
		return r, 2
	}
	if s[1] == '\n' || s[1] == '\r' {
		i := 2
		if s[1] == '\r' && i < len(s) && s[i] == '\n' {
			i++
		}
		return -1, i
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[1]]
	if digits == 0 || len(s) < 2+digits {
		return 0, 0
	}
	r, err := strconv.ParseUint(s[2:2+digits], 16, 32)
	if err != nil {
		return 0, 0
	}
	return rune(r), 2 + digits
}
