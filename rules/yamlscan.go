package rules

import "strings"

// A light scan of YAML text for what a cut-off prefix leaves open: a
// quoted string and flow brackets. It serves only to place a syntax error
// that yaml.v3 found (see yamlpos.go); yaml.v3 stays the judge of validity.

type opener struct {
	at int  // byte offset of the quote or bracket
	ch byte // ' " [ {
}

type openState struct {
	quote *opener  // the quoted string still open, if any
	flow  []opener // open brackets, innermost last
	// lastQuote and lastQuoteEnd are where the last closed quoted string
	// starts and ends.
	lastQuote, lastQuoteEnd int
	// runOn is the last quoted string that runs over a line looking like
	// YAML structure (a "key:" or "- key:" line): most likely one whose
	// closing quote is missing, which yaml.v3 ran on to the next quote.
	// runOnEnd is where it ends (-1: still open).
	runOn, runOnEnd int
}

// closer returns the text that closes what s leaves open.
func (st openState) closer() string {
	var b []byte
	if st.quote != nil {
		b = append(b, st.quote.ch)
	}
	for i := len(st.flow) - 1; i >= 0; i-- {
		if st.flow[i].ch == '[' {
			b = append(b, ']')
		} else {
			b = append(b, '}')
		}
	}
	return string(b)
}

// scanOpen reads s and tells what is open at its end. Block scalars (| and
// >) are skipped by indentation, comments to the end of their line.
func scanOpen(s string) openState {
	st := openState{lastQuote: -1, runOn: -1, runOnEnd: -1}
	tokenStart := true // the next character may start a token
	lineStart := true
	indent, blockIndent := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if lineStart && st.quote == nil {
			j := i
			for j < len(s) && s[j] == ' ' {
				j++
			}
			indent = j - i
			if blockIndent >= 0 && (j == len(s) || s[j] == '\n' || indent > blockIndent) {
				i = skipLine(s, i)
				continue
			}
			blockIndent = -1
			lineStart, tokenStart = false, true
			i = j - 1
			continue
		}
		if st.quote != nil {
			switch {
			case c == '\\' && st.quote.ch == '"':
				i++
			case c == '\'' && st.quote.ch == '\'' && i+1 < len(s) && s[i+1] == '\'':
				i++
			case c == st.quote.ch:
				st.lastQuote, st.lastQuoteEnd = st.quote.at, i
				if st.runOn == st.quote.at {
					st.runOnEnd = i
				}
				st.quote, tokenStart = nil, false
			case c == '\n':
				lineStart = true
				if keyLine(s[i+1 : skipLine(s, i+1)]) {
					st.runOn, st.runOnEnd = st.quote.at, -1
				}
			}
			continue
		}
		blankNext := i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == '\t' || s[i+1] == '\n'
		switch {
		case c == '\n':
			lineStart = true
		case c == ' ' || c == '\t':
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '\n'):
			i = skipLine(s, i) - 1
		case (c == '"' || c == '\'') && tokenStart:
			st.quote = &opener{at: i, ch: c}
		case (c == '[' || c == '{') && (tokenStart || len(st.flow) > 0):
			st.flow = append(st.flow, opener{at: i, ch: c})
			tokenStart = true
		case (c == ']' || c == '}') && len(st.flow) > 0:
			st.flow = st.flow[:len(st.flow)-1]
			tokenStart = false
		case c == ',' && len(st.flow) > 0:
			tokenStart = true
		case c == ':' && (blankNext || len(st.flow) > 0):
			tokenStart = true
		case (c == '-' || c == '?') && blankNext && tokenStart:
		case (c == '|' || c == '>') && tokenStart && len(st.flow) == 0:
			blockIndent = indent
			i = skipLine(s, i) - 1
		default:
			tokenStart = false
		}
	}
	return st
}

// skipLine returns the offset of the newline ending the line at i, or the
// end of s.
func skipLine(s string, i int) int {
	for i < len(s) && s[i] != '\n' {
		i++
	}
	return i
}

// keyLine tells whether a line looks like YAML structure: "key:" or
// "- key:", the key a plain word, followed by a blank or the line's end.
// Text a quoted string spans rarely does.
func keyLine(line string) bool {
	line = strings.TrimLeft(line, " ")
	if rest, ok := strings.CutPrefix(line, "- "); ok {
		line = strings.TrimLeft(rest, " ")
	}
	i := 0
	for i < len(line) && (line[i] == '_' || line[i] == '-' || line[i] == '.' ||
		'a' <= line[i] && line[i] <= 'z' || 'A' <= line[i] && line[i] <= 'Z' || '0' <= line[i] && line[i] <= '9') {
		i++
	}
	return i > 0 && i < len(line) && line[i] == ':' && (i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\r')
}
