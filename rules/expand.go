package rules

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Variables are expanded in two steps so that a value can hold any text
// (a secret with `#`, `: ` or quotes) without changing the YAML around it:
// the raw file has each ${VAR} replaced by a private-use placeholder, the
// YAML is parsed, then placeholders inside scalars are replaced by values.
const (
	phOpen  = '\uE000'
	phClose = '\uE001'
)

type expansion struct {
	values []string
	unset  map[int]bool // placeholders standing for an unset variable
	// tainted holds the scalars that hold an unset variable: its error is
	// reported once, and nothing more is said about them.
	tainted map[*yaml.Node]bool
	// shifts record, per line, where a placeholder stands for a ${...}, so
	// that a column of the parsed text maps back to the file.
	shifts map[int][]colShift
}

type colShift struct {
	expCol, expLen   int // the placeholder's column and length in runes
	origCol, origLen int // the ${...} reference's
}

// expandVars replaces ${VAR}, ${VAR:-default} and $$ in src. lookup reads
// the environment. Unset variables without a default are reported.
func expandVars(file string, src []byte, lookup func(string) (string, bool), diags *[]Diag) ([]byte, *expansion) {
	ex := &expansion{}
	var out strings.Builder
	out.Grow(len(src))
	s := string(src)
	line, col := 1, 1
	advance := func(t string) {
		for _, r := range t {
			if r == '\n' {
				line++
				col = 1
			} else {
				col++
			}
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if col == 1 && commentLine(s[i:]) {
			// A whole-line comment is copied as it is: a commented-out
			// line may name a variable that is not set.
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s) - i
			} else {
				end++
			}
			out.WriteString(s[i : i+end])
			advance(s[i : i+end])
			i += end
			continue
		}
		if c != '$' || i+1 >= len(s) {
			out.WriteByte(c)
			advance(s[i : i+1])
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			out.WriteByte('$')
			advance("$$")
			i += 2
			continue
		case '{':
		default:
			out.WriteByte(c)
			advance("$")
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		nl := strings.IndexByte(s[i:], '\n')
		if end < 0 || (nl >= 0 && nl < end) {
			*diags = append(*diags, Diag{File: file, Line: line, Col: col, Msg: "unterminated ${ (write $$ for a literal $)"})
			out.WriteByte(c)
			advance("$")
			i++
			continue
		}
		ref := s[i+2 : i+end]
		put := func(v string) { out.WriteString(ex.placeholderAt(line, col, s[i:i+end+1], v)) }
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validVarName(name) {
			*diags = append(*diags, Diag{File: file, Line: line, Col: col, Msg: fmt.Sprintf("invalid variable name %q in ${%s}", name, ref)})
			put("")
		} else if v, ok := lookup(name); ok && (v != "" || !hasDef) {
			put(v)
		} else if hasDef {
			put(def)
		} else {
			*diags = append(*diags, Diag{File: file, Line: line, Col: col, Msg: fmt.Sprintf("environment variable %s is not set (set it, or give a default: ${%s:-value})", name, name)})
			// Stand in the reference itself, so that the unset variable is the
			// one error reported, not also an "empty secret" that follows.
			put("${" + name + "}")
			if ex.unset == nil {
				ex.unset = map[int]bool{}
			}
			ex.unset[len(ex.values)-1] = true
		}
		advance(s[i : i+end+1])
		i += end + 1
	}
	return []byte(out.String()), ex
}

func commentLine(s string) bool {
	t := strings.TrimLeft(s, " \t")
	return strings.HasPrefix(t, "#")
}

func validVarName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// placeholderAt returns the placeholder for value v, written in place of
// the reference ref found at line:col.
func (ex *expansion) placeholderAt(line, col int, ref, v string) string {
	ex.values = append(ex.values, v)
	ph := string(phOpen) + strconv.Itoa(len(ex.values)-1) + string(phClose)
	if ex.shifts == nil {
		ex.shifts = map[int][]colShift{}
	}
	expCol := col
	if prev := ex.shifts[line]; len(prev) > 0 {
		last := prev[len(prev)-1]
		expCol += (last.expCol + last.expLen) - (last.origCol + last.origLen)
	}
	ex.shifts[line] = append(ex.shifts[line], colShift{expCol, utf8.RuneCountInString(ph), col, utf8.RuneCountInString(ref)})
	return ph
}

// origCol maps a column of the parsed text back to the file's.
func (ex *expansion) origCol(line, col int) int {
	delta := 0
	for _, sh := range ex.shifts[line] {
		if col < sh.expCol {
			break
		}
		if col < sh.expCol+sh.expLen {
			return sh.origCol
		}
		delta = (sh.origCol + sh.origLen) - (sh.expCol + sh.expLen)
	}
	return col + delta
}

// fill replaces placeholders in every scalar of the tree by their values.
func (ex *expansion) fill(n *yaml.Node) {
	if n == nil || len(ex.values) == 0 {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.ContainsRune(n.Value, phOpen) {
		n.Value = ex.replace(n, n.Value)
		// A value from the environment is text: `port: ${PORT}` is read by
		// the field's own parser, and `secret: ${S}` stays a string even
		// when S looks like a number.
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		ex.fill(c)
	}
}

func (ex *expansion) replace(n *yaml.Node, s string) string {
	var b strings.Builder
	for {
		i := strings.IndexRune(s, phOpen)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexRune(s[i:], phClose)
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		k, err := strconv.Atoi(s[i+len(string(phOpen)) : i+j])
		if err == nil && k >= 0 && k < len(ex.values) {
			b.WriteString(ex.values[k])
			if ex.unset[k] {
				if ex.tainted == nil {
					ex.tainted = map[*yaml.Node]bool{}
				}
				ex.tainted[n] = true
			}
		}
		s = s[i+j+len(string(phClose)):]
	}
}

// parseYAML expands variables and parses one file into its document node.
// A file holding nothing (or only comments) yields nil. The expansion maps
// the parsed text's columns back to the file's.
func parseYAML(file string, src []byte, lookup func(string) (string, bool), diags *[]Diag) (*yaml.Node, *expansion) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	expanded, ex := expandVars(file, src, lookup, diags)
	var doc yaml.Node
	if err := yaml.Unmarshal(expanded, &doc); err != nil {
		text := string(expanded)
		pos, msg := locateSyntaxError(text, err)
		line, col := lineCol(text, pos)
		*diags = append(*diags, Diag{File: file, Line: line, Col: ex.origCol(line, col), Msg: msg})
		return nil, ex
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, ex
	}
	ex.fill(&doc)
	return doc.Content[0], ex
}
