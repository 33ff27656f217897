package engine

import (
	"bytes"
	"fmt"
	"testing"

	"hookd/internal/fsfull"
)

// With the disk refusing to grow the database (RLIMIT_FSIZE, as a full
// disk), an ignored event answered 200 is logged as not written with its
// id, stays findable, its redelivery is a duplicate, and it is written
// once the disk has room.
func TestIgnoredEventOnFullDisk(t *testing.T) {
	te := startEngine(t, "", longIDRules, nil)
	restore := fsfull.Limit(t, 64<<10)
	body := []byte(`{"pad":"` + string(bytes.Repeat([]byte{'p'}, 8<<10)) + `"}`)
	var ids []uint64
	for i := range 30 {
		a := te.send("POST", "/hooks/github", githubHeaders(body, "issues", fmt.Sprint("full-", i)), body)
		if a.code != 200 || a.body["status"] != "ignored" {
			t.Fatalf("answer %d %s", a.code, a.raw)
		}
		ids = append(ids, uint64(a.body["id"].(float64)))
	}
	last := ids[len(ids)-1]
	te.waitLogs(fmt.Sprintf("level=ERROR msg=\"ignored event not written yet: kept in memory and written again every 5s (hookd show finds it, a redelivery is a duplicate)\" event_id=%d ", last), 1)
	if _, err := te.store.Event(last); err != nil {
		t.Fatalf("event %d: %v", last, err)
	}
	if a := te.adminGet(fmt.Sprint("/events/", last)); a.code != 200 { // hookd show
		t.Fatalf("hookd show %d while the disk is full: %d %s", last, a.code, a.raw)
	}
	a := te.send("POST", "/hooks/github", githubHeaders(body, "issues", "full-29"), body)
	if a.body["status"] != "duplicate" || uint64(a.body["id"].(float64)) != last {
		t.Fatalf("redelivery: %s, want a duplicate of %d", a.raw, last)
	}
	restore()
	te.waitLogs("ignored event written at last", 1)
	if got := metricValue(te.scrape(), "hookd_ignored_unwritten_total", "fate", "lost"); got != 0 {
		t.Fatalf("%v lost", got)
	}
}
