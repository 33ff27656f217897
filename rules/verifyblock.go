package rules

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"hookd/verify"
)

// verify decodes a verify block and builds its provider.
func (d *decoder) verify(n *yaml.Node, secrets *[]string) (verify.Provider, string) {
	before := d.errorCount()
	c, keys, secretNodes, items, ok := d.verifyFields(n)
	if !ok {
		return nil, ""
	}
	if d.errorCount() > before {
		// A field of the wrong type is reported at its place; the
		// provider would only add that the field is empty.
		return nil, c.Provider
	}
	if keys["provider"] == nil {
		d.errf(n, "verify needs a provider (one of: %s)", strings.Join(verify.Names(), ", "))
		return nil, ""
	}
	spec, known := verify.Lookup(c.Provider)
	if !known {
		d.errf(keys["provider"], "verify: %s", verify.UnknownProvider(c.Provider))
		return nil, c.Provider
	}
	if !d.verifyKeysAllowed(keys, c.Provider, spec) {
		return nil, c.Provider
	}
	if t := items["tolerance"]; t != nil && c.Tolerance <= 0 { // 0s: negative ones are no durations
		d.errf(t[0].node, "verify.tolerance must be above zero (leave it out for the provider's default; "+
			"a timestamp check cannot be switched off, but it may allow a long window such as 24h)")
		return nil, c.Provider
	}
	d.warnDefaultSecrets(secretNodes)
	d.warnShortSecrets(secretNodes)
	*secrets = append(*secrets, c.Secrets...)
	if c.Password != "" {
		*secrets = append(*secrets, c.Password)
	}
	if c.VerifyToken != "" {
		*secrets = append(*secrets, c.VerifyToken)
	}
	p, err := spec.New(c)
	if err != nil {
		at, msg := verifyErrorAt(keys, items, err)
		d.errf(at, "verify: %s", msg)
		return nil, c.Provider
	}
	if !d.lintVerify(c, keys, items) {
		return nil, c.Provider
	}
	return p, c.Provider
}

// lintVerify reports what the provider's Lint finds; it returns false on
// an error. A verify_token given empty is said to be so first.
func (d *decoder) lintVerify(c verify.Config, keys map[string]*yaml.Node, items map[string][]item) bool {
	if k := keys["verify_token"]; k != nil && c.VerifyToken == "" {
		d.errf(k, "verify: verify_token: verify_token is empty (is its environment variable set to a value?)")
		return false
	}
	warnings, err := verify.Lint(c)
	if err != nil {
		at, msg := verifyErrorAt(keys, items, err)
		d.errf(at, "verify: %s", msg)
		return false
	}
	for _, w := range warnings {
		at, msg := verifyErrorAt(keys, items, w)
		d.warnf(at, "verify: %s", msg)
	}
	return true
}

// item is one value of a field that gathers several (secret and secrets,
// public_key and public_keys): how to name it and where it is.
type item struct {
	name string // public_key, public_keys[1]
	node *yaml.Node
}

// listItems are the items of a value given as one string or a list.
func listItems(key string, v *yaml.Node) []item {
	if v.Kind != yaml.SequenceNode {
		return []item{{key, v}}
	}
	out := make([]item, 0, len(v.Content))
	for i, it := range v.Content {
		out = append(out, item{fmt.Sprintf("%s[%d]", key, i), resolve(it)})
	}
	return out
}

// verifyFields decodes a verify block's fields into a Config. keys holds
// each option key given, for diagnostics; secretNodes each value node that
// holds a secret, with its field; items, for secret and public_key, each
// value in the order of Config's Secrets and PublicKeys.
func (d *decoder) verifyFields(n *yaml.Node) (c verify.Config, keys map[string]*yaml.Node, secretNodes map[*yaml.Node]string, items map[string][]item, ok bool) {
	keys = map[string]*yaml.Node{}
	secretNodes = map[*yaml.Node]string{} // value node: its field
	items = map[string][]item{}
	strOpt := func(dst *string) func(k, v *yaml.Node) {
		return func(k, v *yaml.Node) { keys[k.Value] = k; *dst = d.str(v, "verify."+k.Value) }
	}
	ok = d.fields(n, "verify", map[string]func(k, v *yaml.Node){
		"provider": strOpt(&c.Provider),
		"secret": func(k, v *yaml.Node) {
			keys[k.Value] = k
			secretNodes[v] = "verify.secret"
			c.Secrets = append(c.Secrets, d.str(v, "verify.secret"))
			items["secret"] = append(items["secret"], item{"secret", v})
		},
		"secrets": func(k, v *yaml.Node) {
			keys[k.Value] = k
			secretNodes[v] = "verify.secrets"
			for _, it := range v.Content {
				secretNodes[resolve(it)] = "verify.secrets"
			}
			c.Secrets = append(c.Secrets, d.strs(v, "verify.secrets")...)
			items["secret"] = append(items["secret"], listItems("secrets", v)...)
		},
		"header":           strOpt(&c.Header),
		"query":            strOpt(&c.Query),
		"algorithm":        strOpt(&c.Algorithm),
		"encoding":         strOpt(&c.Encoding),
		"prefix":           strOpt(&c.Prefix),
		"separator":        strOpt(&c.Separator),
		"timestamp_header": strOpt(&c.TimestampHeader),
		"template":         strOpt(&c.Template),
		"username":         strOpt(&c.Username),
		"password": func(k, v *yaml.Node) {
			secretNodes[v] = "verify.password"
			strOpt(&c.Password)(k, v)
		},
		"tolerance": func(k, v *yaml.Node) {
			keys[k.Value] = k
			items["tolerance"] = []item{{"tolerance", v}}
			c.Tolerance = d.duration(v, "verify.tolerance")
		},
		"url": strOpt(&c.URL),
		"public_key": func(k, v *yaml.Node) {
			keys[k.Value] = k
			c.PublicKeys = append(c.PublicKeys, d.str(v, "verify.public_key"))
			items["public_key"] = append(items["public_key"], item{"public_key", v})
		},
		"public_keys": func(k, v *yaml.Node) {
			keys[k.Value] = k
			c.PublicKeys = append(c.PublicKeys, d.strs(v, "verify.public_keys")...)
			items["public_key"] = append(items["public_key"], listItems("public_keys", v)...)
		},
		"verify_token": func(k, v *yaml.Node) {
			secretNodes[v] = "verify.verify_token"
			strOpt(&c.VerifyToken)(k, v)
		},
	})
	return c, keys, secretNodes, items, ok
}

// verifyKeysAllowed reports each key the provider does not take, in key
// order; it returns false if there was one.
func (d *decoder) verifyKeysAllowed(keys map[string]*yaml.Node, provider string, spec verify.Spec) bool {
	allowed := map[string]bool{"provider": true}
	for _, o := range spec.Options {
		allowed[o] = true
	}
	bad := false
	for _, k := range sortedKeys(keys) {
		if !allowed[k] {
			d.errf(keys[k], "verify: provider %s does not take %q (it takes: %s)", provider, k, strings.Join(spec.Options, ", "))
			bad = true
		}
	}
	return !bad
}

// verifyErrorAt is where a provider's error points and what it says: at
// the value it is about, named (public_keys[1]), when it is about one;
// else at the key of the field it names, the plural form when that is the
// one given, else at provider.
func verifyErrorAt(keys map[string]*yaml.Node, items map[string][]item, err error) (*yaml.Node, string) {
	at := keys["provider"]
	if fe, ok := err.(*verify.FieldError); ok {
		if its := items[fe.Field]; fe.Item > 0 && fe.Item <= len(its) {
			it := its[fe.Item-1]
			return it.node, it.name + ": " + fe.Msg
		}
		if k := keys[fe.Field]; k != nil {
			at = k
		}
		if fe.Field == "secret" && keys["secret"] == nil && keys["secrets"] != nil {
			at = keys["secrets"]
		}
		if fe.Field == "public_key" && keys["public_key"] == nil && keys["public_keys"] != nil {
			at = keys["public_keys"]
		}
	}
	return at, err.Error()
}
