package rules

import (
	"testing"

	"hookd/verify"
)

// Every documented deadline names a provider hookd has: a misspelt one
// would silently leave that sender at the default.
func TestSenderDeadlinesNameProviders(t *testing.T) {
	for name := range senderDeadline {
		if _, ok := verify.Lookup(name); !ok {
			t.Errorf("senderDeadline names %q, which is no provider", name)
		}
	}
	for _, name := range verify.Names() {
		d, ok := senderDeadline[name]
		if !ok {
			d = defaultDeadline
		}
		if MaxWait(name) != d-respondMargin || MaxWait(name) <= 0 {
			t.Errorf("%s: MaxWait %s for a deadline of %s", name, MaxWait(name), d)
		}
	}
}
