package engine

import (
	"maps"

	"hookd/store"
)

// redactRecord keeps the configuration's secrets out of what is recorded
// of a request (and so out of `hookd show`, the dashboard, replay and the
// jobs that render from the record): a header or query value holding one
// has it replaced, a JSON string of the body whose value is one becomes
// "[redacted]". Matching saw them in clear (query.key == "${DEPLOY_KEY}").
func (lv *live) redactRecord(ev *store.Event) {
	ev.Headers = lv.redactValues(ev.Headers)
	ev.Query = lv.redactValues(ev.Query)
	ev.Body = lv.secrets.Body(ev.Body)
}

// redactValues returns m with its values' secrets replaced: m itself when
// none holds one, else a copy (the request's environment shares m).
func (lv *live) redactValues(m map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if lv.secrets.In(v) {
			if out == nil {
				out = maps.Clone(m)
			}
			out[k] = lv.redact.Replace(v)
		}
	}
	if out == nil {
		return m
	}
	return out
}
