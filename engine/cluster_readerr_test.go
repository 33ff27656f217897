package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"hookd/internal/pgtest"
)

// An event that cannot be read because the database is down is not an
// event that does not exist: replay and rematch say what failed.
func TestClusterReplayWhileTheDatabaseIsDown(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	te := startNode(t, url, shared, "a", 1)
	body := push("refs/heads/main", "readerr")
	id := te.accept(body, "d-readerr")
	te.waitDone(id)
	if a := te.adminPost("/events/987654/replay", ""); a.code != 404 || !strings.Contains(a.raw, "no event 987654") {
		t.Fatalf("replay of an unknown event: %d %s", a.code, a.raw)
	}
	if a := te.adminPost("/rematch", `{"id":987654}`); a.code != 404 {
		t.Fatalf("rematch of an unknown event: %d %s", a.code, a.raw)
	}
	block := dbBlocker(t, url)
	block(true)
	defer block(false)
	for _, c := range []struct{ name, path, body string }{
		{"replay", fmt.Sprintf("/events/%d/replay", id), ""},
		{"rematch one", "/rematch", fmt.Sprintf(`{"id":%d}`, id)},
		{"rematch a filter", "/rematch", `{"source":"github"}`},
	} {
		a := te.adminPost(c.path, c.body)
		if a.code != 503 || strings.Contains(a.raw, "no event") || strings.Contains(a.raw, "no such event") || !strings.Contains(a.raw, "postgres") {
			t.Errorf("%s while the database is down: %d %s; want 503 naming the database's error", c.name, a.code, a.raw)
		}
	}
}

// Ids are numbers in every admin answer, as in events and show.
func TestAdminAnswersGiveIDsAsNumbers(t *testing.T) {
	te := startNode(t, pgtest.URL(t), t.TempDir(), "a", 1)
	id := te.accept(push("refs/heads/main", "ids"), "d-ids")
	te.waitDone(id)
	for _, c := range []struct{ path, body string }{
		{fmt.Sprintf("/events/%d/replay", id), ""},
		{"/rematch", fmt.Sprintf(`{"id":%d,"force":true}`, id)},
		{"/rules/run/run", `{}`},
	} {
		a := te.adminPost(c.path, c.body)
		var v struct {
			ID    uint64   `json:"id"`
			Job   uint64   `json:"job"`
			Jobs  []uint64 `json:"jobs"`
			Items []struct {
				Event uint64 `json:"event"`
				Job   uint64 `json:"job"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(a.raw), &v); a.code != 200 || err != nil {
			t.Errorf("%s: %d %s: %v", c.path, a.code, a.raw, err)
			continue
		}
		if v.ID == 0 && len(v.Items) == 0 || v.ID != 0 && v.Job == 0 && len(v.Jobs) == 0 {
			t.Errorf("%s: no ids in %s", c.path, a.raw)
		}
	}
}
