package rules

import "go.yaml.in/yaml/v3"

// What a source keeps of an event that matched no rule (keep_ignored).
const (
	// KeepAll keeps everything: headers, query, body (the default).
	KeepAll = "all"
	// KeepHeaders keeps headers, query and the remote address, and of the
	// body only its length and SHA-256.
	KeepHeaders = "headers"
	// KeepDeliveryID keeps what answers a redelivery as a duplicate: the
	// delivery id with the event's outline (event type, time, method,
	// path, the answer sent), no headers, query or body.
	KeepDeliveryID = "delivery_id"
)

// keepIgnored reads a source's keep_ignored.
func (d *decoder) keepIgnored(v *yaml.Node) string {
	const want = "keep_ignored must be all, headers or delivery_id"
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.errf(v, "%s, not %s", want, kindName(v))
		return KeepAll
	}
	switch v.Value {
	case KeepAll, KeepHeaders, KeepDeliveryID:
		return v.Value
	}
	d.errf(v, "%s, not %q", want, v.Value)
	return KeepAll
}
