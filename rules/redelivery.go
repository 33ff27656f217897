package rules

import (
	"go.yaml.in/yaml/v3"

	"hookd/verify"
)

// redelivery reads a source's redelivery setting: duplicate (the default:
// a delivery id seen before runs nothing) or retry_failed.
func (d *decoder) redelivery(v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.errf(v, "redelivery must be duplicate or retry_failed, not %s", kindName(v))
		return false
	}
	switch v.Value {
	case "duplicate":
		return false
	case "retry_failed":
		return true
	}
	d.errf(v, "redelivery must be duplicate or retry_failed, not %q", v.Value)
	return false
}

// checkRedelivery warns where retry_failed cannot tell a redelivery: a
// source whose ids are body hashes, unless its id: names the sender's id.
func (d *decoder) checkRedelivery(s *Source, at *yaml.Node) {
	if !s.RetryFailed || s.ID != nil || !verify.HashesIDs(s.Provider) {
		return
	}
	d.warnf(at, "source %q: redelivery: retry_failed cannot tell a redelivery here: provider %s sends no delivery id, so hookd's id is a hash of the body, and any request with the same body counts as a redelivery; set id: to the sender's delivery id (for example id: headers[\"x-request-id\"])", s.Name, s.Provider)
}
