package rules

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Variables are expanded in two steps so that a value can hold any text
// (a secret with `#`, `: ` or quotes) without changing the YAML around it,
// and so that a shell script's own ${...} is left to the shell: the raw file
// has each ${...} and $$ replaced by a private-use placeholder exactly as
// long as the text it stands for (so columns stay true), the YAML is
// parsed, then placeholders inside scalars are replaced by their values, or
// by the text they stand for inside a shell action's script. What is wrong
// with a reference (unset, invalid name) is reported only where it is
// expanded: a comment or a script says nothing.
const (
	phOpen  = '\uE000'
	phPad   = '\uE001'
	phDigit = '\uE100' // digits of the reference's index, base phBase
	phBase  = 0x1000
)

// ref is one ${...} or $$ of a file.
type ref struct {
	raw       string // as written
	name      string // the variable, "" for $$
	value     string
	line, col int
	err       string // reported where the reference is expanded
	defaulted bool   // value is the default: the variable is unset or empty
	secret    bool   // read from a file or a credential: always a secret
}

// secretName matches the names of variables that hold a secret, as
// Django's debug pages decide which settings to hide
// (django/views/debug.py, HIDDEN_SETTINGS): DEPLOY_KEY, GITHUB_TOKEN,
// DB_PASSWORD. Their values are redacted wherever they are used, a `when`
// comparing a shared key included.
var secretName = regexp.MustCompile(`(?i)API|TOKEN|KEY|SECRET|PASS|SIGNATURE`)

type expansion struct {
	file string
	refs []ref
	// tainted holds the scalars that hold a bad reference: its error is
	// reported once, and nothing more is said about them.
	tainted map[*yaml.Node]bool
	// defaulted holds, per scalar, the references whose default stood in
	// for an unset or empty variable.
	defaulted map[*yaml.Node][]ref
	// values holds the value each variable expanded to, defaults included.
	values map[string]string
	// secrets holds the values read by ${file:...} and ${credential:...}.
	secrets []string
	// text is the file with its references replaced by placeholders as
	// long as them: a node's line and column are the same in it and in
	// the file.
	text string
	// warnShort: warn of a secret too short to redact (rules files).
	warnShort bool
}

// expandVars replaces each ${VAR}, ${VAR:-default} and $$ of src by a
// placeholder and looks its value up. lookup reads the environment.
// ${file:PATH} and ${credential:NAME} read files (see fileRef).
func expandVars(file string, src []byte, lookup func(string) (string, bool)) ([]byte, *expansion) {
	ex := &expansion{file: file}
	s := string(src)
	var out strings.Builder
	out.Grow(len(src))
	line, col, copied := 1, 1, 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line, col = line+1, 1
			i++
			continue
		case c != '$' || i+1 >= len(s) || (s[i+1] != '$' && s[i+1] != '{'):
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
			col++
			continue
		}
		r := lexRef(s[i:], filepath.Dir(file), lookup)
		r.line, r.col = line, col
		out.WriteString(s[copied:i])
		out.WriteString(ex.placeholder(r))
		i += len(r.raw)
		col += utf8.RuneCountInString(r.raw)
		copied = i
	}
	out.WriteString(s[copied:])
	return []byte(out.String()), ex
}

// lexRef reads the reference at the start of s ("$$" or "${...").
func lexRef(s, base string, lookup func(string) (string, bool)) ref {
	if s[1] == '$' {
		return ref{raw: "$$", value: "$"}
	}
	end := strings.IndexByte(s, '}')
	if nl := strings.IndexByte(s, '\n'); end < 0 || (nl >= 0 && nl < end) {
		return ref{raw: "${", value: "${", err: "unterminated ${ (write $$ for a literal $)"}
	}
	r := ref{raw: s[:end+1]}
	body := s[2:end]
	if fr, ok := fileRef(body, base, lookup); ok {
		fr.raw = r.raw
		if fr.err != "" {
			fr.value = r.raw // as for an unset variable: one error, not an empty secret too
		}
		return fr
	}
	name, def, hasDef := strings.Cut(body, ":-")
	r.name = name
	if !validVarName(name) {
		r.value, r.err = r.raw, fmt.Sprintf("invalid variable name %q in ${%s}", name, body)
		return r
	}
	if v, ok := lookup(name); ok && (v != "" || !hasDef) {
		r.value = v
	} else if hasDef {
		r.value, r.defaulted = def, true
	} else {
		// Stand in the reference itself, so that the unset variable is the
		// one error reported, not also an "empty secret" that follows.
		r.value = "${" + name + "}"
		r.err = fmt.Sprintf("environment variable %s is not set (set it, or give a default: ${%s:-value})", name, name)
	}
	return r
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

// placeholder records r and returns its placeholder: phOpen, the index's
// digits, then padding up to the length of the text it replaces.
func (ex *expansion) placeholder(r ref) string {
	k := len(ex.refs)
	ex.refs = append(ex.refs, r)
	var digits []rune
	for {
		digits = append([]rune{phDigit + rune(k%phBase)}, digits...)
		k /= phBase
		if k == 0 {
			break
		}
	}
	ph := string(phOpen) + string(digits)
	if pad := utf8.RuneCountInString(r.raw) - 1 - len(digits); pad > 0 {
		ph += strings.Repeat(string(phPad), pad)
	}
	return ph
}

// fill replaces the placeholders in every scalar of the tree: by their
// values, or inside scripts by the text as written.
func (ex *expansion) fill(n *yaml.Node, scripts map[*yaml.Node]bool, diags *[]Diag) {
	if n == nil || len(ex.refs) == 0 {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.ContainsRune(n.Value, phOpen) {
		n.Value = ex.replace(n, scripts[n], diags)
		// A value from the environment is text: `port: ${PORT}` is read by
		// the field's own parser, and `secret: ${S}` stays a string even
		// when S looks like a number.
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		ex.fill(c, scripts, diags)
	}
}

func (ex *expansion) replace(n *yaml.Node, script bool, diags *[]Diag) string {
	var b strings.Builder
	s := n.Value
	for {
		i := strings.IndexRune(s, phOpen)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+utf8.RuneLen(phOpen):]
		k, digits := 0, 0
		for {
			c, w := utf8.DecodeRuneInString(s)
			if c < phDigit || c >= phDigit+phBase {
				break
			}
			k = k*phBase + int(c-phDigit)
			s = s[w:]
			digits++
		}
		if digits == 0 || k >= len(ex.refs) {
			b.WriteRune(phOpen) // written in the file, not a placeholder
			continue
		}
		s = strings.TrimLeft(s, string(phPad))
		r := ex.refs[k]
		if script {
			b.WriteString(r.raw)
			continue
		}
		b.WriteString(r.value)
		ex.note(n, r, diags)
	}
}

// note records what one expanded reference means for its scalar.
func (ex *expansion) note(n *yaml.Node, r ref, diags *[]Diag) {
	if r.err != "" {
		*diags = append(*diags, Diag{File: ex.file, Line: r.line, Col: r.col, Msg: r.err})
		if ex.tainted == nil {
			ex.tainted = map[*yaml.Node]bool{}
		}
		ex.tainted[n] = true
		return
	}
	if r.secret {
		ex.secret(r, "secret "+r.raw, diags)
		return
	}
	if r.name == "" {
		return
	}
	if ex.values == nil {
		ex.values = map[string]string{}
	}
	ex.values[r.name] = r.value
	if secretName.MatchString(r.name) {
		ex.secret(r, "secret "+r.name, diags)
	}
	if r.defaulted {
		if ex.defaulted == nil {
			ex.defaulted = map[*yaml.Node][]ref{}
		}
		ex.defaulted[n] = append(ex.defaulted[n], r)
	}
}

// secret records the value of r, a secret, warning once of one too short
// to redact; what names it.
func (ex *expansion) secret(r ref, what string, diags *[]Diag) {
	ex.secrets = append(ex.secrets, r.value)
	if ex.warnShort && r.value != "" && len(r.value) < minSecretLen {
		d := shortSecret(ex.file, r.line, r.col, what)
		d.quoted = r.value
		*diags = append(*diags, d)
	}
}

// scriptNodes finds the script values of the shell actions of a rules file:
// hookd expands nothing in them, ${...} belongs to the shell.
func scriptNodes(root *yaml.Node) map[*yaml.Node]bool {
	out := map[*yaml.Node]bool{}
	rules := mapValue(root, "rules")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return out
	}
	for _, rule := range rules.Content {
		for _, key := range []string{"actions", "on_failure"} {
			list := mapValue(rule, key)
			if list == nil || list.Kind != yaml.SequenceNode {
				continue
			}
			for _, a := range list.Content {
				if s := mapValue(mapValue(a, "shell"), "script"); s != nil {
					out[s] = true
				}
			}
		}
	}
	return out
}

// mapValue returns the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

// parseYAML expands variables and parses one file into its document node.
// A file holding nothing (or only comments) yields nil. In a rules file
// (rulesFile), the scripts of shell actions are left as written.
func parseYAML(file string, src []byte, lookup func(string) (string, bool), rulesFile bool, diags *[]Diag) (*yaml.Node, *expansion) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	expanded, ex := expandVars(file, src, lookup)
	ex.text = string(expanded)
	ex.warnShort = rulesFile
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		// Placeholders are as long as the text they stand for, so a position
		// in the parsed text is the same in the file.
		text := string(expanded)
		pos, msg := locateSyntaxError(text, err)
		line, col := lineCol(text, pos)
		*diags = append(*diags, Diag{File: file, Line: line, Col: col, Msg: msg})
		return nil, ex
	}
	if d := secondDocument(ex.text, &doc, dec, rulesFile); d != nil {
		d.File = file
		*diags = append(*diags, *d)
		return nil, ex
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, ex
	}
	if !mergeKeys(file, doc.Content[0], diags) {
		return nil, ex
	}
	var scripts map[*yaml.Node]bool
	if rulesFile {
		scripts = scriptNodes(doc.Content[0])
	}
	ex.fill(&doc, scripts, diags)
	return doc.Content[0], ex
}
