package rules

import (
	"fmt"
	"os"
	"strconv"
	"strings"

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
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validVarName(name) {
			*diags = append(*diags, Diag{File: file, Line: line, Col: col, Msg: fmt.Sprintf("invalid variable name %q in ${%s}", name, ref)})
		} else if v, ok := lookup(name); ok && (v != "" || !hasDef) {
			out.WriteString(ex.placeholder(v))
		} else if hasDef {
			out.WriteString(ex.placeholder(def))
		} else {
			*diags = append(*diags, Diag{File: file, Line: line, Col: col, Msg: fmt.Sprintf("environment variable %s is not set (set it, or give a default: ${%s:-value})", name, name)})
			// Stand in the reference itself, so that the unset variable is the
			// one error reported, not also an "empty secret" that follows.
			out.WriteString(ex.placeholder("${" + name + "}"))
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

func (ex *expansion) placeholder(v string) string {
	ex.values = append(ex.values, v)
	return string(phOpen) + strconv.Itoa(len(ex.values)-1) + string(phClose)
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
// A file holding nothing (or only comments) yields nil.
func parseYAML(file string, src []byte, lookup func(string) (string, bool), diags *[]Diag) (*yaml.Node, map[*yaml.Node]bool) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	expanded, ex := expandVars(file, src, lookup, diags)
	var doc yaml.Node
	if err := yaml.Unmarshal(expanded, &doc); err != nil {
		*diags = append(*diags, yamlErrorDiag(file, err))
		return nil, nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	ex.fill(&doc)
	return doc.Content[0], ex.tainted
}

// yamlErrorDiag turns a yaml.v3 syntax error ("yaml: line 3: ...") into a Diag.
func yamlErrorDiag(file string, err error) Diag {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	d := Diag{File: file, Msg: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				d.Line, d.Col, d.Msg = n, 1, tail
			}
		}
	}
	if d.Line == 0 {
		d.Line, d.Col = 1, 1
	}
	return d
}
