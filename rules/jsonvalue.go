package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// jsonValue compiles a YAML value for json: or blocks:. Every string in it
// is a template; mappings become jsonObject, lists []any, other scalars
// their YAML value.
func (d *decoder) jsonValue(n *yaml.Node, what string, failure bool) any {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		obj := jsonObject{}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if seen[k.Value] {
				d.errf(k, "%s: key %q repeated", what, k.Value)
				continue
			}
			seen[k.Value] = true
			m := jsonMember{key: k.Value}
			if strings.Contains(k.Value, "{{") {
				// A key is a string of the action too: {{ }} renders.
				if m.keyTpl = d.templateOf(k, k.Value, failure); m.keyTpl == nil {
					continue
				}
			}
			m.val = d.jsonValue(n.Content[i+1], what+"."+k.Value, failure)
			obj = append(obj, m)
		}
		return obj
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			list = append(list, d.jsonValue(c, fmt.Sprintf("%s[%d]", what, i), failure))
		}
		return list
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "!!binary" || n.Tag == "" {
			return d.templateOf(n, n.Value, failure)
		}
		var v any
		if err := n.Decode(&v); err != nil {
			d.errf(n, "%s: %v", what, err)
			return nil
		}
		return v
	}
	d.errf(n, "%s: unexpected %s", what, kindName(n))
	return nil
}

// jsonObject keeps a mapping's keys in the order written.
type jsonObject []jsonMember

type jsonMember struct {
	key    string
	keyTpl *Template // the key when it holds {{ }}, nil otherwise
	val    any
}

// templated tells whether a key of o holds {{ }}.
func (o jsonObject) templated() bool {
	for _, m := range o {
		if m.keyTpl != nil {
			return true
		}
	}
	return false
}

func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalJSON(m.val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalJSON is json.Marshal without HTML escaping: the JSON goes to an
// API, not into a web page.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// renderJSON renders a jsonValue tree: a string that is exactly one
// {{ expr }} keeps the expression's type, other strings render as text.
func renderJSON(v any, env any) (any, error) {
	switch x := v.(type) {
	case *Template:
		if x == nil {
			return nil, nil
		}
		return x.Value(env)
	case jsonObject:
		out := make(jsonObject, len(x))
		var keys map[string]string // rendered key: the key as written
		for i, m := range x {
			key := m.key
			if m.keyTpl != nil {
				var err error
				if key, err = m.keyTpl.Render(env); err != nil {
					return nil, fmt.Errorf("key %s: %w", m.key, err)
				}
			}
			if len(x) > 1 && x.templated() {
				if keys == nil {
					keys = map[string]string{}
				}
				if prev, dup := keys[key]; dup {
					return nil, fmt.Errorf("keys %s and %s both render as %q: an object cannot hold a key twice", prev, m.key, key)
				}
				keys[key] = m.key
			}
			r, err := renderJSON(m.val, env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.key, err)
			}
			out[i] = jsonMember{key: key, val: r}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := renderJSON(e, env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}
