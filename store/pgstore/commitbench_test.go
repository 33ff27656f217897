package pgstore

import (
	"fmt"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
)

// BenchmarkCommitLatest measures one group commit of 25 accepts, each an
// event with GitHub's delivery headers and a job of one latest lane,
// committed one after the other by the caller: the time of a commit and
// the CPU this process and PostgreSQL spend per event, without the
// goroutines and group sizes of a concurrent load.
//
//	go test ./store/pgstore -run '^$' -bench CommitLatest -benchtime 20000x
func BenchmarkCommitLatest(b *testing.B) {
	const group = 25
	dbURL := pgtest.URL(b)
	s := openT(b, dbURL)
	s.maxQueued.Store(1 << 30)
	hdr := map[string]string{"accept": "*/*", "content-type": "application/json", "user-agent": "GitHub-Hookshot/0a1b2c3",
		"x-github-event": "push", "x-github-hook-id": "123456789", "x-github-hook-installation-target-id": "987654321",
		"x-github-hook-installation-target-type": "repository",
		"x-hub-signature":                        "sha1=0123456789abcdef0123456789abcdef01234567",
		"x-hub-signature-256":                    "sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	body := []byte(`{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","repository":{"full_name":"o/r"}}`)
	ops := make([]*op, 0, b.N)
	for i := range b.N {
		id, err := s.NextEventID()
		if err != nil {
			b.Fatal(err)
		}
		jid, err := s.NextJobID()
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UTC()
		d := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		h := map[string]string{"x-github-delivery": d}
		for k, v := range hdr {
			h[k] = v
		}
		e, _ := encodeEvent(&store.Event{ID: id, Source: "github", DeliveryID: d, Event: "push", ReceivedAt: now,
			Method: "POST", Path: "/hooks/github", Headers: h, Body: body, Status: "accepted", Rules: []string{"deploy"}, Jobs: []uint64{jid}})
		j, _ := encodeJob(&store.Job{ID: jid, EventID: id, Rule: "deploy", Lane: "deploy", Latest: true, State: store.Queued, Created: now, Updated: now})
		ops = append(ops, &op{kind: opAccept, ev: e, jobs: []*jobRow{j}, errc: make(chan error, 1), queued: time.Now()})
	}
	u, _ := url.Parse(dbURL)
	db := strings.TrimPrefix(u.Path, "/")
	b.ResetTimer()
	pg0, cpu0, start := pgtest.ServerCPU(db), selfCPU(), time.Now()
	for i := 0; i < len(ops); i += group {
		batch := ops[i:min(i+group, len(ops))]
		for _, o := range batch {
			o.queued = time.Now()
		}
		s.commit(batch)
		for _, o := range batch {
			if err := <-o.errc; err != nil {
				b.Fatal(err)
			}
		}
	}
	took := time.Since(start)
	b.StopTimer()
	commits := (b.N + group - 1) / group
	b.ReportMetric(float64(took.Microseconds())/1000/float64(commits), "ms/commit")
	b.ReportMetric(float64((selfCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64((pgtest.ServerCPU(db)-pg0).Microseconds())/float64(b.N), "pg-cpu-µs/event")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
