package rules

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"hookd/internal/suggest"
)

// decoder reads YAML nodes strictly: unknown keys, duplicate keys and wrong
// types are errors at the node's line and column. It collects every error
// instead of stopping at the first.
type decoder struct {
	file    string
	diags   *[]Diag
	tainted map[*yaml.Node]bool // scalars holding an unset variable
	// defaulted holds the references whose default stood in for an unset
	// or empty variable, per scalar.
	defaulted map[*yaml.Node][]ref
	// scripts collects the shell scripts, checked once every secret is known.
	scripts *[]scriptAt
	// suggested holds, per mapping, the known keys that an unknown key
	// of it was taken for (did you mean ...?): such a key is then not
	// also reported missing, one mistake giving one message.
	suggested map[*yaml.Node]map[string]bool
	// text is the file as parsed (see expansion.text), to place an error
	// inside a scalar; "" where there is none.
	text string
	refs []ref // the file's references, for the placeholders of text
}

// errorCount is how many errors (not warnings) are recorded so far.
func (d *decoder) errorCount() int {
	n := 0
	for _, dg := range *d.diags {
		if !dg.Warning {
			n++
		}
	}
	return n
}

// add records a diagnostic at line:col of the file.
func (d *decoder) add(line, col int, msg string, warning bool) {
	*d.diags = append(*d.diags, Diag{File: d.file, Line: line, Col: col, Msg: msg, Warning: warning})
}

func (d *decoder) errf(n *yaml.Node, format string, args ...any) {
	if d.tainted[n] {
		return // the unset variable is the error, already reported
	}
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	d.add(line, col, fmt.Sprintf(format, args...), false)
}

// errWithheld reports as errf does, with withheld as the message when
// quoted, the value the message quotes or derives from, holds a secret.
func (d *decoder) errWithheld(n *yaml.Node, quoted, withheld, format string, args ...any) {
	before := len(*d.diags)
	d.errf(n, format, args...)
	if len(*d.diags) > before {
		(*d.diags)[before].quoted, (*d.diags)[before].withheld = quoted, withheld
	}
}

// typeErr reports a value of the wrong type, then marks its node as
// reported: a later check of the value it stands for (a URL, a secret)
// would only add that the value is empty or malformed.
func (d *decoder) typeErr(n *yaml.Node, format string, args ...any) {
	d.errf(n, format, args...)
	if d.tainted == nil {
		d.tainted = map[*yaml.Node]bool{}
	}
	d.tainted[n] = true
}

func (d *decoder) warnf(n *yaml.Node, format string, args ...any) {
	d.add(n.Line, n.Column, fmt.Sprintf(format, args...), true)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return fmt.Sprintf("%q", n.Value)
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// fields walks a mapping, calling the handler of each known key with the key
// node and the value node. Unknown and duplicate keys are errors.
func (d *decoder) fields(n *yaml.Node, what string, handlers map[string]func(k, v *yaml.Node)) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, "%s must be a mapping, not %s", what, kindName(n))
		return false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if prev, dup := seen[k.Value]; dup {
			d.errf(k, "%s: key %q repeated (first at line %d)", what, k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		h, ok := handlers[k.Value]
		if !ok {
			known := sortedKeys(handlers)
			if near := suggest.Closest(k.Value, known); near != "" {
				d.suggest(n, near)
				d.errf(k, "%s: unknown key %q: did you mean %s? (known: %s)", what, k.Value, near, strings.Join(known, ", "))
			} else {
				d.errf(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(known, ", "))
			}
			continue
		}
		h(k, v)
	}
	return true
}

// suggest records that a key of mapping n was taken for key.
func (d *decoder) suggest(n *yaml.Node, key string) {
	if d.suggested == nil {
		d.suggested = map[*yaml.Node]map[string]bool{}
	}
	if d.suggested[n] == nil {
		d.suggested[n] = map[string]bool{}
	}
	d.suggested[n][key] = true
}

// missing reports at node at that mapping n lacks what keys name, unless
// an unknown key of n was taken for one of them: its did-you-mean message
// says it all.
func (d *decoder) missing(at, n *yaml.Node, keys []string, format string, args ...any) {
	for _, k := range keys {
		if d.wasSuggested(n, k) {
			return
		}
	}
	d.errf(at, format, args...)
}

// wasSuggested tells whether an unknown key of mapping n was taken for key.
func (d *decoder) wasSuggested(n *yaml.Node, key string) bool {
	return d.suggested[resolve(n)][key]
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func (d *decoder) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.typeErr(n, "%s must be a string, not %s", what, kindName(n))
		return ""
	}
	return n.Value
}

// strs reads a list of strings; a single string counts as a list of one.
func (d *decoder) strs(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, "%s must be a list of strings, not %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, d.str(resolve(c), what+" item"))
	}
	return out
}

func (d *decoder) strMap(n *yaml.Node, what string) (map[string]string, map[string]*yaml.Node) {
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, "%s must be a mapping of names to strings, not %s", what, kindName(n))
		return nil, nil
	}
	out := map[string]string{}
	pos := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if _, dup := out[k.Value]; dup {
			d.errf(k, "%s: key %q repeated", what, k.Value)
			continue
		}
		out[k.Value] = d.str(v, what+"."+k.Value)
		pos[k.Value] = v
	}
	return out, pos
}

func (d *decoder) duration(n *yaml.Node, what string) time.Duration {
	s := d.str(n, what)
	if s == "" {
		return 0
	}
	v, err := ParseDuration(s)
	switch {
	case err != nil:
		d.errf(n, "%s: %q is not a duration (write e.g. 30s, 10m, 2h, 30d)", what, s)
		return 0
	case v < 0:
		d.errf(n, "%s: %q is negative (write e.g. 30s, 10m, 2h, 30d)", what, s)
		return 0
	}
	return v
}

// ParseDuration reads a duration as time.ParseDuration does, and whole
// days before it: 30d, 1d12h (a day is 24 hours).
func ParseDuration(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		v := time.Duration(days) * 24 * time.Hour
		if rest := s[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil || r < 0 {
				return 0, fmt.Errorf("%q is not a duration", s)
			}
			v += r
		}
		return v, nil
	}
	return time.ParseDuration(s)
}

func (d *decoder) integer(n *yaml.Node, what string, min int) int {
	s := d.str(n, what)
	v, err := strconv.Atoi(s)
	if err != nil {
		d.errf(n, "%s: %q is not a whole number", what, s)
		return 0
	}
	if v < min {
		d.errf(n, "%s must be at least %d", what, min)
		return 0
	}
	return v
}

// size reads a byte count: 1048576, 512KiB, 10MiB, 1GiB (KB, MB, GB as 1000s).
func (d *decoder) size(n *yaml.Node, what string) int64 {
	s := strings.TrimSpace(d.str(n, what))
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		d.errf(n, "%s: %q is not a size (write e.g. 10MiB, 512KiB or a number of bytes)", what, n.Value)
		return 0
	}
	return v * mult
}

func (d *decoder) prefixes(n *yaml.Node, what string) []netip.Prefix {
	var out []netip.Prefix
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	for _, c := range items {
		c = resolve(c)
		s := d.str(c, what+" item")
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				d.errf(c, "%s: %q is not an IP address or CIDR (write e.g. 10.0.0.0/8)", what, s)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}
