package rules

import (
	"go.yaml.in/yaml/v3"
)

// mergeKeys resolves YAML merge keys (<<: *anchor, or <<: [*a, *b]) in
// every mapping of the tree, as YAML 1.1 defines them: the merged
// mapping's keys are added where the << stands, unless the mapping
// writes them itself; of several merged mappings, the first that has a
// key gives it. A merged value keeps its own place in the file, so an
// error in it points at the anchor's text. A << that is not a mapping or
// a list of them is reported at the <<, and false returned.
func mergeKeys(file string, root *yaml.Node, diags *[]Diag) bool {
	m := &merger{file: file, diags: diags, done: map[*yaml.Node]bool{}}
	m.walk(root)
	return !m.failed
}

type merger struct {
	file   string
	diags  *[]Diag
	done   map[*yaml.Node]bool
	failed bool
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Tag == "!!merge"
}

func (m *merger) walk(n *yaml.Node) {
	n = resolve(n)
	if n == nil || m.done[n] {
		return
	}
	m.done[n] = true
	for _, c := range n.Content {
		m.walk(c)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	merges := false
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; isMergeKey(k) {
			merges = true
		} else {
			explicit[k.Value] = true
		}
	}
	if !merges {
		return
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMergeKey(k) {
			out = append(out, k, v)
			continue
		}
		for _, src := range m.sources(k, v) {
			for j := 0; j+1 < len(src.Content); j += 2 {
				sk := src.Content[j]
				if explicit[sk.Value] {
					continue
				}
				explicit[sk.Value] = true
				out = append(out, sk, src.Content[j+1])
			}
		}
	}
	n.Content = out
}

// sources returns the mappings a << merges, each already resolved.
func (m *merger) sources(k, v *yaml.Node) []*yaml.Node {
	items := []*yaml.Node{v}
	if rv := resolve(v); rv != nil && rv.Kind == yaml.SequenceNode {
		items = rv.Content
	}
	var out []*yaml.Node
	for _, it := range items {
		r := resolve(it)
		if r == nil || r.Kind != yaml.MappingNode {
			what := "null"
			if r != nil {
				what = kindName(r)
			}
			*m.diags = append(*m.diags, Diag{File: m.file, Line: k.Line, Col: k.Column,
				Msg: "<< (a merge key) takes a mapping, usually an alias of one (<<: *name) or a list of them ([*a, *b]), not " + what})
			m.failed = true
			continue
		}
		m.walk(r)
		out = append(out, r)
	}
	return out
}
