package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"hookd/rules"
)

// The intake benchmarks drive a server with 64 concurrent keep-alive
// clients on loopback and report events/s and latency percentiles, so that
// hookd can be compared with the bare ceiling measured in the same run:
//
//	go test ./engine -run '^$' -bench 'Intake|Ceiling' -benchtime 20000x
const clients = 64

type signedReq struct {
	body []byte
	hdr  http.Header
}

// signedPushes makes n signed pushes with delivery ids that grow, so each
// new de-duplication key lands at the end of its index.
func signedPushes(n int) []signedReq {
	return pushes(n, func(i int) string { return fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i) })
}

// randomPushes uses random UUIDs for delivery ids, as GitHub does: each new
// key lands at a random place in the de-duplication index.
func randomPushes(n int) []signedReq {
	return pushes(n, func(int) string {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	})
}

// fullPushes sends pushes the size and shape of GitHub's own (about 7 KB:
// the repository with its URL templates, owner, sender, a commit), with
// random delivery ids: what a busy GitHub App or organisation hook sends.
func fullPushes(n int) []signedReq {
	reqs := randomPushes(n)
	for i := range reqs {
		body := fullPush(i)
		reqs[i] = signedReq{body: body, hdr: githubHeaders(body, "push", reqs[i].hdr.Get("X-Github-Delivery"))}
	}
	return reqs
}

func pushes(n int, delivery func(int) string) []signedReq {
	reqs := make([]signedReq, n)
	for i := range reqs {
		body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","after":"%040d","repository":{"full_name":"acme/site"},"pusher":{"name":"ada"},"n":%d}`, i, i))
		reqs[i] = signedReq{body: body, hdr: githubHeaders(body, "push", delivery(i))}
	}
	return reqs
}

// fullPush is a compact push payload with GitHub's fields.
func fullPush(i int) []byte {
	const repoURL = "https://api.github.com/repos/acme/site"
	user := func(login string) map[string]any {
		u := map[string]any{"login": login, "id": 21031067, "node_id": "MDQ6VXNlcjIxMDMxMDY3", "gravatar_id": "",
			"avatar_url": "https://avatars.githubusercontent.com/u/21031067?v=4", "html_url": "https://github.com/" + login,
			"url": "https://api.github.com/users/" + login, "type": "User", "site_admin": false}
		for _, f := range []string{"followers", "following{/other_user}", "gists{/gist_id}", "starred{/owner}{/repo}", "subscriptions", "orgs", "repos", "events{/privacy}", "received_events"} {
			name := strings.TrimSuffix(strings.SplitN(f, "{", 2)[0], "s") + "s_url"
			u[name] = "https://api.github.com/users/" + login + "/" + f
		}
		return u
	}
	repo := map[string]any{"id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name": "site", "full_name": "acme/site",
		"private": false, "owner": user("acme"), "html_url": "https://github.com/acme/site", "description": "The acme site",
		"fork": false, "url": "https://github.com/acme/site", "created_at": 1557933565, "updated_at": "2026-11-15T15:20:41Z",
		"pushed_at": 1557933657, "git_url": "git://github.com/acme/site.git", "ssh_url": "git@github.com:acme/site.git",
		"clone_url": "https://github.com/acme/site.git", "svn_url": "https://github.com/acme/site", "homepage": nil, "size": 1204,
		"stargazers_count": 12, "watchers_count": 12, "language": "Go", "has_issues": true, "has_projects": true,
		"has_downloads": true, "has_wiki": true, "has_pages": false, "forks_count": 3, "mirror_url": nil, "archived": false,
		"disabled": false, "open_issues_count": 2, "license": nil, "forks": 3, "open_issues": 2, "watchers": 12,
		"default_branch": "main", "stargazers": 12, "master_branch": "main", "topics": []string{}, "visibility": "public"}
	for _, f := range []string{"forks", "keys{/key_id}", "collaborators{/collaborator}", "teams", "hooks", "issues/events{/number}",
		"events", "assignees{/user}", "branches{/branch}", "tags", "git/blobs{/sha}", "git/tags{/sha}", "git/refs{/sha}",
		"git/trees{/sha}", "statuses/{sha}", "languages", "stargazers", "contributors", "subscribers", "subscription",
		"commits{/sha}", "git/commits{/sha}", "comments{/number}", "issues/comments{/number}", "contents/{+path}",
		"compare/{base}...{head}", "merges", "{archive_format}{/ref}", "downloads", "issues{/number}", "pulls{/number}",
		"milestones{/number}", "notifications{?since,all,participating}", "labels{/name}", "releases{/id}", "deployments"} {
		repo[strings.NewReplacer("/", "_", "{", "", "}", "", "+", "", "?", "", ",", "", ".", "").Replace(f)+"_url"] = repoURL + "/" + f
	}
	sha := fmt.Sprintf("%040x", i)
	commit := map[string]any{"id": sha, "tree_id": fmt.Sprintf("%040x", i+1), "distinct": true,
		"message":   "Fix the deploy script's handling of a missing release directory\n\nIt failed on the first deploy.",
		"timestamp": "2026-11-28T04:03:09Z", "url": "https://github.com/acme/site/commit/" + sha,
		"author":    map[string]any{"name": "Ada", "email": "ada@example.com", "username": "ada"},
		"committer": map[string]any{"name": "Ada", "email": "ada@example.com", "username": "ada"},
		"added":     []string{}, "removed": []string{}, "modified": []string{"deploy.sh", "README.md"}}
	body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "before": fmt.Sprintf("%040x", i+2), "after": sha,
		"created": false, "deleted": false, "forced": false, "base_ref": nil,
		"compare": "https://github.com/acme/site/compare/" + sha[:12] + "..." + sha[28:],
		"commits": []any{commit}, "head_commit": commit, "repository": repo,
		"pusher": map[string]any{"name": "ada", "email": "ada@example.com"}, "sender": user("ada")})
	return body
}

// drive sends reqs to url from `clients` goroutines and reports throughput
// and latency; every answer must have status want.
func drive(b *testing.B, url string, reqs []signedReq, want int) { driveFrom(b, url, reqs, want) }

// driveFrom is drive, returning when the first request was sent.
func driveFrom(b *testing.B, url string, reqs []signedReq, want int) time.Time {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	lat := make([]time.Duration, len(reqs))
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	// Flush what earlier benchmarks left to write back (and the files
	// they deleted), so it does not slow this one down.
	syscall.Sync()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(reqs[i].body))
				req.Header = reqs[i].hdr.Clone()
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != want {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d", resp.StatusCode))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed (first: %v)", f, len(reqs), firstErr.Load())
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(reqs))/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// CPU of the whole process (clients included) per request: steadier
	// than throughput on a VM whose speed drifts.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(reqs)), "cpu-µs/event")
	return start
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ceiling is the bare minimum of durable intake: read the body, check an
// HMAC-SHA256, and commit it to bbolt through one committer goroutine whose
// each transaction takes every write queued during the previous fsync.
// With store=false it only verifies (the ceiling of ignored events).
func ceiling(b *testing.B, durable bool) string {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "ceiling.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("e")); return err }); err != nil {
		b.Fatal(err)
	}
	type write struct {
		body []byte
		done chan error
	}
	writes := make(chan write, 4096)
	var seq atomic.Uint64
	go func() {
		for w := range writes {
			batch := []write{w}
		more:
			for {
				select {
				case w := <-writes:
					batch = append(batch, w)
				default:
					break more
				}
			}
			err := db.Update(func(tx *bolt.Tx) error {
				bk := tx.Bucket([]byte("e"))
				for _, w := range batch {
					k := make([]byte, 8)
					binary.BigEndian.PutUint64(k, seq.Add(1))
					if err := bk.Put(k, w.body); err != nil {
						return err
					}
				}
				return nil
			})
			for _, w := range batch {
				w.done <- err
			}
		}
	}()
	b.Cleanup(func() { close(writes) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := verifiedBody(w, r)
		if !ok {
			return
		}
		if durable {
			done := make(chan error, 1)
			writes <- write{body, done}
			if err := <-done; err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"accepted"}`))
	})
	return serveCeiling(b, h)
}

func BenchmarkCeilingDurable(b *testing.B) {
	url := ceiling(b, true)
	drive(b, url, signedPushes(b.N), 200)
}

func BenchmarkCeilingVerifyOnly(b *testing.B) {
	url := ceiling(b, false)
	drive(b, url, signedPushes(b.N), 200)
}

// benchEngine starts hookd with the GitHub source and the given rules.
func benchEngine(b *testing.B, rulesYAML string, mod func(*rules.Config)) *testEngine {
	te := startEngine(b, b.TempDir(), rulesYAML, mod)
	te.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return te
}

const benchSource = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
`

// Every request is recorded with its job and supersedes the waiting one:
// intake, not execution, is measured.
func BenchmarkIntakeAccepted(b *testing.B) { intakeAccepted(b, signedPushes(b.N)) }

func BenchmarkIntakeIgnored(b *testing.B) { intakeIgnored(b, signedPushes(b.N)) }

// The same with random delivery ids, as real providers send: each new
// de-duplication key rewrites a leaf page of its index somewhere in the
// middle, where growing ids only ever touch the last one.
func BenchmarkIntakeAcceptedRandomIDs(b *testing.B) { intakeAccepted(b, randomPushes(b.N)) }

func BenchmarkIntakeIgnoredRandomIDs(b *testing.B) { intakeIgnored(b, randomPushes(b.N)) }

// Pushes the size of GitHub's, with random delivery ids, against ceilings
// that read, verify (and store) the same bodies.
func BenchmarkCeilingDurableFull(b *testing.B) { drive(b, ceiling(b, true), fullPushes(b.N), 200) }

func BenchmarkCeilingVerifyOnlyFull(b *testing.B) { drive(b, ceiling(b, false), fullPushes(b.N), 200) }

func BenchmarkIntakeAcceptedFull(b *testing.B) { intakeAccepted(b, fullPushes(b.N)) }

func BenchmarkIntakeIgnoredFull(b *testing.B) { intakeIgnored(b, fullPushes(b.N)) }

func intakeAccepted(b *testing.B, reqs []signedReq) {
	te := benchEngine(b, benchSource+`
  - name: deploy
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    concurrency: latest
    actions: [{shell: {command: [sleep, "10"]}}]
`, func(c *rules.Config) { c.ShutdownTimeout = time.Second; c.MaxQueued = 1 << 30 })
	drive(b, te.url+"/hooks/github", reqs, 200)
}

func intakeIgnored(b *testing.B, reqs []signedReq) {
	te := benchEngine(b, benchSource+`
  - name: deploy
    source: github
    when: event == "release"
    actions: [{shell: {command: ["true"]}}]
`, nil)
	drive(b, te.url+"/hooks/github", reqs, 200)
}

// 1,000 rules on the source, varied conditions, one matches.
func BenchmarkIntakeThousandRules(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(benchSource)
	for i := 0; i < 999; i++ {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&sb, "  - {name: r%d, source: github, when: 'event == \"push\" && body.ref == \"refs/heads/b%d\"', actions: [{shell: {command: [\"true\"]}}]}\n", i, i)
		case 1:
			fmt.Fprintf(&sb, "  - {name: r%d, source: github, when: 'body.repository.full_name == \"acme/r%d\"', actions: [{shell: {command: [\"true\"]}}]}\n", i, i)
		case 2:
			fmt.Fprintf(&sb, "  - {name: r%d, source: github, when: 'event == \"issues\" && body.n > %d', actions: [{shell: {command: [\"true\"]}}]}\n", i, i)
		default:
			fmt.Fprintf(&sb, "  - {name: r%d, source: github, when: 'header(\"X-GitHub-Event\") == \"release-%d\"', actions: [{shell: {command: [\"true\"]}}]}\n", i, i)
		}
	}
	sb.WriteString(`  - name: deploy
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    concurrency: latest
    actions: [{shell: {command: [sleep, "10"]}}]
`)
	te := benchEngine(b, sb.String(), func(c *rules.Config) { c.ShutdownTimeout = time.Second; c.MaxQueued = 1 << 30 })
	drive(b, te.url+"/hooks/github", signedPushes(b.N), 200)
}

// verifiedBody reads a ceiling's request and checks its GitHub signature,
// answering 400 or 401 itself when it cannot.
func verifiedBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return nil, false
	}
	sig, _ := hex.DecodeString(strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), sig) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// serveCeiling serves a ceiling's handler on loopback until the benchmark
// ends and returns the URL its clients post to.
func serveCeiling(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/hooks/github"
}
