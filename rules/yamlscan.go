package rules

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
	st := openState{lastQuote: -1}
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
				st.quote, tokenStart = nil, false
			case c == '\n':
				lineStart = true
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
