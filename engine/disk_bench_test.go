package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"hookd/rules"
	"hookd/store"
)

// BenchmarkDiskPerEvent measures what an ignored GitHub push costs on disk:
// diskEvents pushes go through intake (random delivery ids, fresh commit
// ids in each body, GitHub's delivery headers), after diskWarmup others
// that fill the first pages, and the database's growth is divided by
// their number. bbolt's pages count in full: the growth is of the mapped
// size (pages in use, half-filled ones and free ones alike, as a backup
// copies them), measured while the daemon runs. compacted-bytes/event is
// the same after `hookd compact` (bolt.Compact, every event counted). The
// bodies are GitHub's documented push shape (testdata/pushes):
//
//	go test ./engine -run '^$' -bench DiskPerEvent -benchtime 1x
func BenchmarkDiskPerEvent(b *testing.B) {
	for _, name := range []string{"push-2k.json", "push-7k.json"} {
		body, err := os.ReadFile(filepath.Join("testdata", "pushes", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimSuffix(name, ".json"), func(b *testing.B) {
			for range b.N {
				diskPerEvent(b, body)
			}
		})
	}
}

const diskWarmup, diskEvents = 500, 5000

func diskPerEvent(b *testing.B, body []byte) {
	dir := b.TempDir()
	te := benchEngine(b, benchSource+`
  - name: deploy
    source: github
    when: event == "release"
    actions: [{shell: {command: ["true"]}}]
`, func(c *rules.Config) { c.DataDir = filepath.Join(dir, "data") })
	url := te.url + "/hooks/github"
	drive(b, url, githubPushes(body, diskWarmup), 200)
	before := dbSize(b, te)
	drive(b, url, githubPushes(body, diskEvents), 200)
	grown := dbSize(b, te) - before
	te.stop()

	compacted := filepath.Join(dir, "compacted.db")
	src, err := bolt.Open(filepath.Join(dir, "data", "hookd.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := bolt.Open(compacted, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		b.Fatal(err)
	}
	var size int64
	_ = dst.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	dst.Close()

	perEvent := float64(grown) / diskEvents
	b.ReportMetric(perEvent, "disk-bytes/event")
	b.ReportMetric(perEvent/float64(len(body)), "disk/body")
	b.ReportMetric(float64(size)/(diskWarmup+diskEvents), "compacted-bytes/event")
	b.ReportMetric(float64(len(body)), "body-bytes")
}

// dbSize is the size of the database as a backup copies it, once every
// event sent is on disk.
func dbSize(b *testing.B, te *testEngine) int64 {
	if err := te.store.Sync(); err != nil {
		b.Fatal(err)
	}
	var size int64
	if _, err := te.store.(store.Backuper).Backup(io.Discard, func(n int64) { size = n }); err != nil {
		b.Fatal(err)
	}
	return size
}

// githubPushes makes n pushes from a fixture: each with its own commit ids
// (40 random hex digits do not compress) and delivery id, and the headers
// GitHub sends with every delivery.
func githubPushes(fixture []byte, n int) []signedReq {
	reqs := make([]signedReq, n)
	for i := range reqs {
		body := bytes.Clone(fixture)
		for _, sha := range []string{"6113728f27ae82c7b1a177c8d03f9e96e0adf246", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "f9d2a07e9488b91af2641b26b9407fe22a451433"} {
			fresh := randomHex(20)
			body = bytes.ReplaceAll(body, []byte(sha), []byte(fresh))
			body = bytes.ReplaceAll(body, []byte(sha[:12]), []byte(fresh[:12])) // the compare URL
		}
		r := randomHex(16)
		delivery := fmt.Sprintf("%s-%s-%s-%s-%s", r[0:8], r[8:12], r[12:16], r[16:20], r[20:32])
		h := githubHeaders(body, "push", delivery)
		m := hmac.New(sha1.New, []byte(secret))
		m.Write(body)
		h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m.Sum(nil)))
		h.Set("User-Agent", "GitHub-Hookshot/7c2ab47")
		h.Set("Accept", "*/*")
		h.Set("X-GitHub-Hook-ID", "512347809")
		h.Set("X-GitHub-Hook-Installation-Target-ID", "186853002")
		h.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
		reqs[i] = signedReq{body: body, hdr: h}
	}
	return reqs
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// GitHub pushes of 2 KiB (testdata/pushes/push-2k.json, with GitHub's
// delivery headers and fresh commit and delivery ids), matching no rule,
// against a ceiling that reads and verifies the same requests:
//
//	go test ./engine -run '^$' -bench 'IgnoredPush2K|VerifyOnlyPush2K' -benchtime 20000x
func BenchmarkIntakeIgnoredPush2K(b *testing.B) { intakeIgnored(b, push2K(b, b.N)) }

func BenchmarkCeilingVerifyOnlyPush2K(b *testing.B) {
	drive(b, ceiling(b, false), push2K(b, b.N), 200)
}

func push2K(b *testing.B, n int) []signedReq {
	body, err := os.ReadFile(filepath.Join("testdata", "pushes", "push-2k.json"))
	if err != nil {
		b.Fatal(err)
	}
	return githubPushes(body, n)
}
