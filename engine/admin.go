package engine

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"hookd/rules"
	"hookd/store"
)

// AdminNetwork tells how an admin address is reached: "tcp" for host:port
// (a ':' and no '/'), otherwise "unix" for a socket path.
func AdminNetwork(addr string) string {
	if rules.AdminTCP(addr) {
		return "tcp"
	}
	return "unix"
}

// AdminAddr returns where the admin API listens.
func (e *Engine) AdminAddr() string { return e.adminLn.Addr().String() }

// startAdmin serves the admin API on its own listener, never the public
// one: a unix socket only its owner may use (mode 0600), by default.
func (e *Engine) startAdmin() error {
	addr := e.cfg.AdminPath()
	network := AdminNetwork(addr)
	if err := adminAddrErr(addr); err != nil {
		return err
	}
	if network == "unix" {
		if err := removeStaleSocket(addr); err != nil {
			return err
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("admin listener %s: %w", addr, err)
	}
	if network == "unix" {
		if err := os.Chmod(addr, 0o600); err != nil {
			ln.Close()
			return fmt.Errorf("admin socket %s: %w", addr, err)
		}
	}
	mux := e.readMux()
	mux.HandleFunc("POST /events/{id}/replay", e.adminReplay)
	e.adminVerbRoutes(mux)
	e.adminLn = ln
	// On TCP a web page can reach it too: refuse what a browser sends
	// cross-site, and names other than local ones (DNS rebinding).
	var h http.Handler = mux
	if network != "unix" {
		h = localNamesOnly(http.NewCrossOriginProtection().Handler(mux), nil)
	}
	e.admin = &http.Server{Handler: e.adminState(h), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.admin.Serve(ln) }()
	e.log.Info("admin API listening", "admin", addr)
	return nil
}

// readMux serves the admin API's reads, which need only the store.
func (e *Engine) readMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", e.adminList)
	mux.HandleFunc("GET /events/{id}", e.adminShow)
	return mux
}

// ReadAdmin serves the admin API's reads (events, show) from a store opened
// without a daemon, so that they work while hookd is stopped.
func ReadAdmin(st store.Backend) http.Handler {
	e := &Engine{store: st}
	return e.adminState(e.readMux())
}

func (e *Engine) stopAdmin() {
	if e.admin != nil {
		_ = e.admin.Close()
	}
}

// removeStaleSocket removes a socket file left by a hookd that died, and
// refuses one that still answers or a file that is not a socket.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("admin socket %s: a file that is not a socket is in the way", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("admin socket %s is in use by another process", path)
	}
	return os.Remove(path)
}

var listStatuses = map[string]bool{"accepted": true, "ignored": true, store.Queued: true, store.Running: true,
	store.Retrying: true, store.Done: true, store.Failed: true, store.Superseded: true, store.Cancelled: true}

// adminList is GET /events?status=&source=&limit=&before=: newest first,
// with the cursor of the next page.
func (e *Engine) adminList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := store.ListOptions{Source: q.Get("source"), Status: q.Get("status")}
	if o.Status != "" && !listStatuses[o.Status] {
		errorJSON(w, http.StatusBadRequest, "unknown status "+strconv.Quote(o.Status)+": use accepted, ignored, queued, running, retrying, done, failed, superseded or cancelled")
		return
	}
	for name, p := range map[string]*int{"limit": &o.Limit} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				errorJSON(w, http.StatusBadRequest, name+" must be a positive number")
				return
			}
			*p = n
		}
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errorJSON(w, http.StatusBadRequest, "before must be an event id")
			return
		}
		o.Before = n
	}
	evs, next, err := e.store.ListEvents(o)
	if err != nil {
		errorJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	if evs == nil {
		evs = []store.EventBrief{}
	}
	out := map[string]any{"events": evs}
	if next != 0 {
		out["next"] = next
	}
	writeJSON(w, 200, out)
}

// EventView is an event as the admin API shows it: the body as text when
// it is UTF-8 (else base64, said in body_encoding), and its jobs.
type EventView struct {
	*store.Event
	Body         string       `json:"body"`
	BodyEncoding string       `json:"body_encoding,omitempty"`
	BodyError    string       `json:"body_error,omitempty"` // why body is nil to rules
	Status       string       `json:"status"`               // summarised from the jobs
	Jobs         []*store.Job `json:"jobs"`
}

func (e *Engine) adminShow(w http.ResponseWriter, r *http.Request) {
	id, ok := eventID(w, r)
	if !ok {
		return
	}
	ev, jobs, err := e.store.EventJobs(id)
	if errors.Is(err, store.ErrNotFound) {
		errorJSON(w, http.StatusNotFound, fmt.Sprintf("no event %d", id))
		return
	}
	if err != nil {
		errorJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	v := &EventView{Event: ev, Jobs: jobs}
	if v.Jobs == nil {
		v.Jobs = []*store.Job{}
	}
	if utf8.Valid(ev.Body) {
		v.Body = string(ev.Body)
	} else {
		v.Body, v.BodyEncoding = base64.StdEncoding.EncodeToString(ev.Body), "base64"
	}
	if _, err := parseBody(ev.Headers["content-type"], ev.Body); err != nil && ev.Kept == nil {
		v.BodyError = err.Error()
	}
	var briefs []store.JobBrief
	for _, j := range jobs {
		briefs = append(briefs, store.JobBrief{ID: j.ID, Rule: j.Rule, State: j.State, Updated: j.Updated})
	}
	v.Status = store.Summarize(ev.Status, briefs)
	writeJSON(w, 200, v)
}

// adminReplay is POST /events/{id}/replay: new jobs, durably, for the
// event's matched rules that still exist, whatever became of the old ones.
func (e *Engine) adminReplay(w http.ResponseWriter, r *http.Request) {
	id, ok := eventID(w, r)
	if !ok {
		return
	}
	res, err := e.Replay(id, "")
	var re *ReplayError
	if errors.As(err, &re) {
		if re.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		errorJSON(w, re.Status, re.Msg)
		return
	}
	out := map[string]any{"status": "replayed", "id": id, "rules": res.Rules, "jobs": res.Jobs}
	if len(res.Skipped) > 0 {
		out["skipped"] = res.Skipped
	}
	writeJSON(w, 200, out)
}

// rerunJobs makes new jobs, with new ids, for the event's matched rules
// that still exist (names), as replay and a redelivery run them again; gone
// are the rules no longer in the configuration. An error is the store's
// failure to allocate ids.
func (e *Engine) rerunJobs(lv *live, ev *store.Event, now time.Time) (jobs []*store.Job, names, gone []string, err error) {
	env := eventEnv(ev)
	seen := map[string]bool{}
	for _, name := range ev.Rules {
		if seen[name] {
			continue
		}
		seen[name] = true
		rule := lv.set.Rules[name]
		if rule == nil {
			gone = append(gone, name)
			continue
		}
		id, err := e.store.NextJobID()
		if err != nil {
			return nil, nil, nil, err
		}
		j := &store.Job{ID: id, EventID: ev.ID, Rule: name, State: store.Queued, Created: now, Updated: now}
		j.Lane, j.Latest = laneOf(rule, env)
		jobs = append(jobs, j)
		names = append(names, name)
	}
	return jobs, names, gone, nil
}

// laneOf gives a job's lane as intake does: the rule's name, and the key's
// value when the rule has one. A key that fails serializes on "".
func laneOf(rule *rules.Rule, env *rules.Env) (string, bool) {
	if rule.Concurrency == "parallel" {
		return "", false
	}
	lane := rule.Name
	if rule.Key != nil {
		k, _ := rules.EvalString(rule.Key, env)
		lane += "\x00" + k
	}
	return lane, rule.Concurrency == "latest"
}

func eventID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		errorJSON(w, http.StatusBadRequest, "event id must be a positive number")
		return 0, false
	}
	return id, true
}
