package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"hookd/rules"
	"hookd/store"
)

// keepIgnored cuts an event that matched no rule down to what its source
// keeps of one (keep_ignored), before any backend records it. The digest
// is of the body as it would have been recorded: a secret the sender put
// in it already replaced.
func keepIgnored(src *rules.Source, ev *store.Event) {
	switch src.KeepIgnored {
	case rules.KeepHeaders:
		sum := sha256.Sum256(ev.Body)
		ev.Kept = &store.Kept{What: rules.KeepHeaders, BodyBytes: len(ev.Body), BodySHA256: hex.EncodeToString(sum[:])}
		ev.Body = nil
	case rules.KeepDeliveryID:
		ev.Kept = &store.Kept{What: rules.KeepDeliveryID, BodyBytes: len(ev.Body)}
		ev.Body, ev.Headers, ev.Query, ev.RemoteAddr = nil, nil, nil, ""
	}
}

// notKept says what an event lacks because its source did not keep it,
// and what follows; "" when the event was kept whole.
func notKept(ev *store.Event) string {
	k := ev.Kept
	if k == nil {
		return ""
	}
	what := "its body"
	if k.What == rules.KeepDeliveryID {
		what = "its headers, query and body"
	}
	return fmt.Sprintf("%s (%d bytes) not kept: source %s has keep_ignored: %s, so the event cannot be matched against the rules again", what, k.BodyBytes, ev.Source, k.What)
}
