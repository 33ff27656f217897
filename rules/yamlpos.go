package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxColumnSearch bounds the runes of the offending line searched.
const maxColumnSearch = 400

// yamlProblem splits a yaml.v3 error ("yaml: line 3: did not find ...")
// into its problem and the line it names (0 if none).
func yamlProblem(err error) (string, int) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				return tail, n
			}
		}
	}
	return msg, 0
}

// locateSyntaxError finds where in src the syntax error err lies, as a
// byte offset, with a message for it. yaml.v3 names only a line, and that
// is the line of the enclosing block (for parser errors, the line before
// it), so the mistake is found again: the shortest prefix of src that
// fails with the same problem, once scanOpen has closed what the cut left
// open, ends at the offending character. yaml.v3's line bounds the search
// from below, since the enclosing block starts before the mistake.
func locateSyntaxError(src string, err error) (int, string) {
	problem, reported := yamlProblem(err)
	fails := func(end int) bool {
		p := src[:end]
		var n yaml.Node
		err := yaml.Unmarshal([]byte(p+scanOpen(p).closer()), &n)
		if err == nil {
			return false
		}
		got, _ := yamlProblem(err)
		return got == problem
	}
	if problem == "found unexpected end of stream" || problem == "found unexpected document indicator" {
		if q := scanOpen(src).quote; q != nil {
			return q.at, "found unclosed quote: no " + string(q.ch) + " ends the string that starts here"
		}
	}
	starts := lineStarts(src)
	if !fails(len(src)) {
		// Closing what the file leaves open mends it: that is the mistake.
		if st := scanOpen(src); isFlowProblem(problem) && len(st.flow) > 0 {
			return unclosedFlow(st.flow[len(st.flow)-1])
		}
		return lineOffset(starts, reported), problem
	}
	lo := max(reported, 1) - 1 // 0-based index of the first line to try
	n := lo + sort.Search(len(starts)-lo, func(i int) bool { return fails(lineEnd(src, starts, lo+i)) })
	if n >= len(starts) {
		return lineOffset(starts, reported), problem
	}
	pos := firstFailingRune(src, starts[n], fails)
	return refineSyntaxError(src, pos, problem)
}

// firstFailingRune returns the offset of the rune of the line at start that
// completes the failing prefix (searched by halves, as the lines are), or
// the line's first non-blank.
func firstFailingRune(src string, start int, fails func(int) bool) int {
	end := lineEnd(src, []int{start}, 0)
	var ends []int // the prefix end after each rune of the line
	for i := start; i < end && len(ends) < maxColumnSearch; {
		_, size := utf8.DecodeRuneInString(src[i:])
		i += size
		ends = append(ends, i)
	}
	k := sort.Search(len(ends), func(k int) bool { return fails(ends[k]) })
	if k == len(ends) {
		i := start
		for i < end && src[i] == ' ' {
			i++
		}
		return i
	}
	i := start
	if k > 0 {
		i = ends[k-1]
	}
	// A blank that completes the failure ends the token before it.
	for i > start && src[i] == ' ' {
		i--
	}
	return i
}

// refineSyntaxError moves pos from the character where yaml.v3 stopped to
// the mistake to show, and words the message for it.
func refineSyntaxError(src string, pos int, problem string) (int, string) {
	st := scanOpen(src[:pos])
	line := lineOf(src, pos)
	if q := st.runOn; q >= 0 && lineOf(src, q) < line {
		// The quote was not closed on its line, and yaml.v3 ran the string
		// on over lines that look like keys to a quote further down.
		end := line
		if st.runOnEnd >= 0 {
			end = lineOf(src, st.runOnEnd)
		}
		return q, fmt.Sprintf("this quoted string is not closed on its line; it runs on to line %d", end)
	}
	if q := st.lastQuote; q >= 0 && lineOf(src, q) < line && lineOf(src, st.lastQuoteEnd) == line {
		// A string that runs over lines up to the failure is most likely
		// missing its closing quote where it starts.
		return q, fmt.Sprintf("this quoted string runs on to line %d, where YAML fails (%s): is its closing %c missing?", line, problem, src[q])
	}
	flowProblem := isFlowProblem(problem)
	if flowProblem && len(st.flow) > 0 {
		o := st.flow[len(st.flow)-1]
		if lineOf(src, o.at) < line && indentAt(src, pos) <= indentAt(src, o.at) {
			return unclosedFlow(o)
		}
	}
	c := byte(0)
	if pos < len(src) {
		c = src[pos]
	}
	switch {
	case c == '\t':
		return pos, "found a tab: YAML indents with spaces only"
	case flowProblem && c == ':' && strings.ContainsAny(lastNonBlank(src[:pos]), ",[{"):
		entry := strings.TrimSpace(src[pos : pos+strings.IndexAny(src[pos:]+"\n", ",]}\n")])
		return pos, fmt.Sprintf("%s: inside [ ] and { }, a value starting with ':' must be quoted (write %q)", problem, entry)
	case (c == ']' || c == '}') && len(st.flow) > 0 && st.flow[len(st.flow)-1].ch != map[byte]byte{']': '[', '}': '{'}[c]:
		o := st.flow[len(st.flow)-1]
		l, col := lineCol(src, o.at)
		return pos, fmt.Sprintf("%s: this '%c' does not match the '%c' at %d:%d", problem, c, o.ch, l, col)
	case (c == ']' || c == '}') && len(st.flow) == 0:
		return pos, problem + ": this '" + string(c) + "' closes nothing"
	case c == '@' || c == '`':
		return pos, fmt.Sprintf("found '%c', which cannot start a plain value: quote the value", c)
	case problem == "could not find expected ':'" && missingBlank(src[pos:lineEnd(src, []int{pos}, 0)]):
		return pos, problem + ": a key ends with ': ', a colon and a space"
	}
	key := keyStart(src, pos)
	switch {
	case problem == "mapping values are not allowed in this context" && key < pos:
		return key, problem + ": this line is indented as if it continued the value above it; check its indentation"
	case problem == "mapping values are not allowed in this context":
		return pos, problem + ": quote a value that holds ': '"
	case problem == "did not find expected key" || problem == "did not find expected '-' indicator":
		return key, problem + ": check this line's indentation"
	}
	return pos, problem
}

// isFlowProblem tells the problems of an entry of [ ] or { }.
func isFlowProblem(problem string) bool {
	return problem == "did not find expected node content" || strings.HasPrefix(problem, "did not find expected ',' or")
}

func unclosedFlow(o opener) (int, string) {
	if o.ch == '[' {
		return o.at, "found unclosed '[': no ']' ends the list that starts here"
	}
	return o.at, "found unclosed '{': no '}' ends the mapping that starts here"
}

// keyStart returns where the key ending at pos starts: the first token of
// its line (after a "- "), or pos if a ": " comes before it on the line.
func keyStart(src string, pos int) int {
	i := strings.LastIndexByte(src[:pos], '\n') + 1
	for i < pos && src[i] == ' ' {
		i++
	}
	if strings.HasPrefix(src[i:pos], "- ") {
		i += 2
		for i < pos && src[i] == ' ' {
			i++
		}
	}
	if strings.Contains(src[i:pos], ": ") {
		return pos
	}
	return i
}

func lineStarts(s string) []int {
	starts := []int{0}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && i+1 < len(s) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineEnd is the offset just past the newline of line i (0-based).
func lineEnd(s string, starts []int, i int) int {
	if nl := strings.IndexByte(s[starts[i]:], '\n'); nl >= 0 {
		return starts[i] + nl + 1
	}
	return len(s)
}

// lineOffset is the offset of 1-based line n, clamped to the text.
func lineOffset(starts []int, n int) int {
	return starts[min(max(n, 1), len(starts))-1]
}

func lineOf(s string, pos int) int { return strings.Count(s[:pos], "\n") + 1 }

func indentAt(s string, pos int) int {
	start := strings.LastIndexByte(s[:pos], '\n') + 1
	i := start
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i - start
}

// lineCol turns an offset into a 1-based line and column in runes, as
// yaml.v3 counts columns.
func lineCol(s string, pos int) (int, int) {
	start := strings.LastIndexByte(s[:pos], '\n') + 1
	return lineOf(s, pos), utf8.RuneCountInString(s[start:pos]) + 1
}

// lastNonBlank returns the last character of s that is not a blank, or "".
func lastNonBlank(s string) string {
	s = strings.TrimRight(s, " \t")
	if s == "" {
		return ""
	}
	return s[len(s)-1:]
}

// missingBlank tells whether the first ':' of text is followed by neither
// a blank nor the end of the line.
func missingBlank(text string) bool {
	i := strings.IndexByte(text, ':')
	return i > 0 && i+1 < len(text) && !strings.ContainsRune(" \t\n", rune(text[i+1]))
}
