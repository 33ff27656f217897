package systest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const rematchRule = `
  - name: %s
    source: github
    when: %s
    actions:
      - shell: {script: 'printf "%%s %%s\n" "$HOOKD_RULE" "$HOOKD_DELIVERY_ID" >> "$OUT"', env: {OUT: "${OUT}"}}
`

func rematchRules(rules ...string) string {
	y := "sources:\n  github:\n    verify: {provider: github, secret: \"${WEBHOOK_SECRET}\"}\nrules:\n"
	for i := 0; i < len(rules); i += 2 {
		y += strings.Replace(strings.Replace(rematchRule, "%s", rules[i], 1), "%s", rules[i+1], 1)
	}
	return strings.ReplaceAll(y, "%%", "%")
}

// TestReplayRematch: rules added after events arrived run over them with
// replay -rematch, by id or by filter; a dry run queues nothing; a rule
// runs once per event unless -force; the event records what was rematched.
func TestReplayRematch(t *testing.T) {
	s := newSite(t, rematchRules("a", `body.ref == "refs/heads/main"`), "")
	s.start()
	for _, c := range []struct{ id, ref string }{{"d1", "main"}, {"d2", "dev"}, {"d3", "dev"}} {
		if r, err := s.post(c.id, []byte(`{"ref":"refs/heads/`+c.ref+`"}`)); err != nil || r.code != 200 {
			t.Fatalf("post %s: %v %+v", c.id, err, r)
		}
	}
	ran := filepath.Join(s.dir, "ran")
	eventually(t, "d1 runs", 20*time.Second, func() bool { return len(lines(t, ran)) == 1 })
	writeFile(t, filepath.Join(s.dir, "rules", "rules.yaml"),
		rematchRules("a", `body.ref == "refs/heads/main"`, "b", `body.ref == "refs/heads/dev"`, "c", "true"))
	eventually(t, "the new rules load", 20*time.Second, func() bool { return strings.Contains(s.logs.String(), "rules=3") })

	out, errOut, code := s.cli(t, "", "replay", "-rematch", "-status", "ignored", "-dry-run")
	if code != 0 || strings.Count(out, "would run") != 4+1 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(lines(t, ran)); n != 1 {
		t.Fatalf("a dry run ran %d jobs", n-1)
	}

	out, errOut, code = s.cli(t, "", "replay", "-rematch", "-source", "github", "-since", "1h")
	if code != 0 || strings.Count(out, "queued as job") != 5 || !strings.Contains(out, "rule a skipped: matched when received") {
		t.Fatalf("rematch: exit %d\n%s%s", code, out, errOut)
	}
	want := []string{"a d1", "b d2", "b d3", "c d1", "c d2", "c d3"}
	eventually(t, "the rematched rules run", 20*time.Second, func() bool { return len(lines(t, ran)) == len(want) })
	got := lines(t, ran)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}

	// Again: nothing runs twice.
	out, _, code = s.cli(t, "", "replay", "-rematch", "-since", "1h")
	if code != 0 || strings.Contains(out, "queued as job") || strings.Count(out, "already rematched") != 5 {
		t.Fatalf("second rematch:\n%s", out)
	}
	// -force, by id: the event's matching rules again.
	id := eventID(t, s, "d2")
	out, _, code = s.cli(t, "", "replay", id, "-rematch", "-force")
	if code != 0 || strings.Count(out, "queued as job") != 2 {
		t.Fatalf("forced rematch of %s:\n%s", id, out)
	}
	eventually(t, "the forced rematch runs", 20*time.Second, func() bool { return len(lines(t, ran)) == len(want)+2 })
	show, _, _ := s.cli(t, "", "show", id, "-json")
	if !strings.Contains(show, `"rematched":["b","c"]`) {
		t.Errorf("show %s does not record the rematched rules:\n%s", id, show)
	}
	_, errOut, code = s.cli(t, "", "replay", "999999", "-rematch")
	if code != 1 || !strings.Contains(errOut, "no such event") {
		t.Errorf("rematch of a missing event: exit %d %q", code, errOut)
	}
}

// eventID finds the id hookd gave a delivery, from hookd events.
func eventID(t *testing.T, s *site, delivery string) string {
	t.Helper()
	out, _, _ := s.cli(t, "", "events")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[len(f)-1] == delivery {
			return f[0]
		}
	}
	t.Fatalf("no event for delivery %s in\n%s", delivery, out)
	return ""
}

// TestJobIDsNeverShared: jobs queued by hookd run, by intake and by replay
// -rematch draw from one job sequence, so no job's record overwrites
// another's: each event shows its own jobs, and every job id is distinct.
func TestJobIDsNeverShared(t *testing.T) {
	s := newSite(t, rematchRules("a", `body.ref == "refs/heads/main"`), "")
	s.start()
	ran := filepath.Join(s.dir, "ran")
	jobs := map[string]string{} // job id -> the event that queued it
	queued := regexp.MustCompile(`event (\d+)\D.*queued as job (\d+)`)
	note := func(out string) {
		t.Helper()
		for _, m := range queued.FindAllStringSubmatch(out, -1) {
			if prev, ok := jobs[m[2]]; ok {
				t.Fatalf("job %s queued for event %s and for event %s", m[2], prev, m[1])
			}
			jobs[m[2]] = m[1]
		}
	}
	for i, ref := range []string{"main", "dev", "main"} {
		if out, errOut, code := s.cli(t, "{}", "run", "a", "-body", "-"); code != 0 {
			t.Fatalf("hookd run: exit %d\n%s%s", code, out, errOut)
		} else {
			note(out)
		}
		if r, err := s.post(fmt.Sprintf("d%d", i), []byte(`{"ref":"refs/heads/`+ref+`"}`)); err != nil || r.code != 200 {
			t.Fatalf("post: %v %+v", err, r)
		}
	}
	writeFile(t, filepath.Join(s.dir, "rules", "rules.yaml"),
		rematchRules("a", `body.ref == "refs/heads/main"`, "b", `body.ref == "refs/heads/dev"`))
	eventually(t, "the new rule loads", 20*time.Second, func() bool { return strings.Contains(s.logs.String(), "rules=2") })
	out, errOut, code := s.cli(t, "", "replay", "-rematch", "-since", "1h")
	if code != 0 || !strings.Contains(out, "queued as job") {
		t.Fatalf("rematch: exit %d\n%s%s", code, out, errOut)
	}
	note(out)
	if r, err := s.post("d9", []byte(`{"ref":"refs/heads/main"}`)); err != nil || r.code != 200 {
		t.Fatalf("post: %v %+v", err, r)
	}
	eventually(t, "every job to run", 20*time.Second, func() bool { return len(lines(t, ran)) == len(jobs)+3 })
	// Each event lists exactly the jobs it queued, under their own rules.
	for job, ev := range jobs {
		show, _, _ := s.cli(t, "", "show", ev, "-json")
		if !strings.Contains(show, `"id":`+job+`,"event_id":`+ev+",") {
			t.Errorf("event %s does not hold its job %s:\n%s", ev, job, show)
		}
	}
}
