package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hookd/engine"
	"hookd/rules"
	"hookd/store"
)

// benchEngine is an engine over a store of n events (one in ten matched a
// rule and has a job, done or failed), filled once per benchmark binary.
func benchEngine(b *testing.B, n int) *engine.Engine {
	b.Helper()
	dir := b.TempDir()
	st, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(-20 * time.Hour)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
				at := t0.Add(time.Duration(i) * 20 * time.Hour / time.Duration(n))
				ev := &store.Event{ID: st.NewEventID(), Source: "github", DeliveryID: "d-" + strconv.Itoa(i), Event: "push", ReceivedAt: at,
					Method: "POST", Path: "/hooks/github", Headers: map[string]string{"content-type": "application/json"}, Status: "ignored",
					Body: []byte(`{"ref":"refs/heads/dev","after":"` + strconv.Itoa(i) + `","repository":{"full_name":"acme/site"}}`)}
				if i%10 != 0 {
					if _, err := st.Record(ev); err != nil {
						b.Error(err)
						return
					}
					continue
				}
				state := store.Done
				if i%30 == 0 {
					state = store.Failed
				}
				j := &store.Job{ID: st.NewJobID(), EventID: ev.ID, Rule: "deploy", State: state, Created: at, Updated: at.Add(time.Second)}
				ev.Status, ev.Rules, ev.Jobs = "accepted", []string{"deploy"}, []uint64{j.ID}
				if _, err := st.Accept(ev, []*store.Job{j}); err != nil {
					b.Error(err)
					return
				}
				_ = st.SaveJob(j, store.Later, nil)
			}
		}()
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return benchStart(b, dir)
}

func benchStart(b *testing.B, dir string) *engine.Engine {
	b.Helper()
	rd := filepath.Join(dir, "rules")
	writeRules(b, rd)
	cfg := rules.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.RulesDir = rd
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.UI.Listen = ""
	e, err := engine.New(engine.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Shutdown(b.Context()) })
	return e
}

// BenchmarkEventsPage serves the events page over 100,000 stored events:
// the newest page, a filtered page, a page deep in the past (a cursor) and
// a time range (found by a binary search on ids).
func BenchmarkEventsPage(b *testing.B) {
	e := benchEngine(b, 100000)
	s, err := New(e, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	for _, q := range []string{"", "state=failed", "rule=deploy&source=github", "before=20000", "since=19h&until=18h", "delivery=d-50000"} {
		b.Run("q="+q, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/events?"+q, nil))
				if w.Code != 200 || !strings.Contains(w.Body.String(), `<tr data-id=`) {
					b.Fatalf("%d\n%s", w.Code, w.Body.String())
				}
			}
		})
	}
}

// BenchmarkIntakeWithLiveDashboard sends signed webhooks with and without
// a dashboard's live stream reading every new event.
func BenchmarkIntakeWithLiveDashboard(b *testing.B) {
	for _, live := range []bool{false, true} {
		b.Run(fmt.Sprintf("sse=%v", live), func(b *testing.B) {
			e := benchStart(b, b.TempDir())
			if live {
				s, err := New(e, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewServer(s.Handler())
				defer srv.Close()
				resp, err := http.Get(srv.URL + "/events/stream")
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				go func() { _, _ = io.Copy(io.Discard, resp.Body) }()
			}
			url := "http://" + e.Addr() + "/hooks/github"
			body := push("refs/heads/dev", "abc")
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(body))
			sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var n atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", url, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-GitHub-Event", "push")
					req.Header.Set("X-GitHub-Delivery", "b-"+strconv.FormatInt(n.Add(1), 10))
					req.Header.Set("X-Hub-Signature-256", sig)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 && resp.StatusCode != 202 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
		})
	}
}
