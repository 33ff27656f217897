// Package ui is hookd's dashboard: server-rendered pages over the engine's
// store and rules (events, one event, failed jobs, rules, an overview, a
// dry run), with a little JavaScript for live rows and local times. The
// engine serves it on its own listener (ui.listen), behind basic
// authentication and cross-origin protection (engine/ui.go).
package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"hookd/engine"
	"hookd/rules"
	"hookd/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the templates, each with the layout.
var pages = []string{"events", "event", "confirm", "failed", "rules", "overview", "try", "message"}

// Server serves the dashboard of one engine.
type Server struct {
	e     *engine.Engine
	tmpl  map[string]*template.Template
	rows  *template.Template // one events row, for the live stream
	log   *slog.Logger
	stats statsCache
	// poll is how often the live stream looks for new events.
	poll time.Duration
}

// New builds the dashboard of e; log receives what a page could not say.
func New(e *engine.Engine, log *slog.Logger) (*Server, error) {
	s := &Server{e: e, tmpl: map[string]*template.Template{}, log: log, poll: 500 * time.Millisecond}
	for _, p := range pages {
		t, err := template.New(p).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		s.tmpl[p] = t
	}
	s.rows = s.tmpl["events"]
	return s, nil
}

// Handler returns the dashboard's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/events", http.StatusFound) })
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("GET /events/stream", s.stream)
	mux.HandleFunc("GET /events/{id}", s.event)
	mux.HandleFunc("GET /events/{id}/body", s.body)
	mux.HandleFunc("GET /events/{id}/replay", s.confirmReplay)
	mux.HandleFunc("POST /events/{id}/replay", s.replay)
	mux.HandleFunc("GET /failed", s.failed)
	mux.HandleFunc("GET /failed/replay", s.confirmReplayFailed)
	mux.HandleFunc("POST /failed/replay", s.replayFailed)
	mux.HandleFunc("GET /rules", s.rulesPage)
	mux.HandleFunc("GET /overview", s.overview)
	mux.HandleFunc("GET /try", s.try)
	mux.HandleFunc("POST /try", s.try)
	return securityHeaders(mux)
}

func cacheFor(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders keeps the pages out of frames and scripts to our own.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// page is what every page's layout needs.
type page struct {
	Title string
	Nav   string // the active entry of the navigation bar
	Data  any
}

// render executes a page into a buffer first: a template error is a 500,
// never half a page, and no store transaction is open while writing.
func (s *Server) render(w http.ResponseWriter, code int, name, title string, data any) {
	var buf bytes.Buffer
	nav := name
	switch name {
	case "event", "confirm", "message":
		nav = "events"
	}
	if err := s.tmpl[name].ExecuteTemplate(&buf, "layout", page{Title: title, Nav: nav, Data: data}); err != nil {
		s.log.Error("dashboard page", "page", name, "error", err)
		http.Error(w, "cannot render the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

// message shows a page with one message and a link back.
func (s *Server) message(w http.ResponseWriter, code int, title, msg, back string) {
	s.render(w, code, "message", title, map[string]string{"Msg": msg, "Back": back})
}

func (s *Server) storeError(w http.ResponseWriter, err error) {
	s.message(w, http.StatusInternalServerError, "Error", "The store could not be read: "+err.Error(), "/events")
}

var funcs = template.FuncMap{
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utc":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"hm":    func(t time.Time) string { return t.UTC().Format("15:04") },
	"dur":   fmtDuration,
	"join":  strings.Join,
	"state": stateClass,
	"add":   func(a, b int) int { return a + b },
	"tail":  tail,
	"deref": func(p *int) int { return *p },
	"json":  jsonText,
	"brk":   breakable,
}

// breakable is s, escaped, with a line-break opportunity (<wbr>) after
// each / and , so that a path, a file:line or a JSON list wraps between
// its parts rather than inside a name, or widens its table.
func breakable(s string) template.HTML {
	e := template.HTMLEscapeString(s)
	e = strings.ReplaceAll(e, "/", "/<wbr>")
	e = strings.ReplaceAll(e, ",", ",<wbr>")
	return template.HTML(e)
}

// jsonText shows a value as compact JSON, as hookd test prints actions.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // html/template escapes
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

// fmtDuration rounds for people: 1.2s, 340ms, 3m4s.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// stateClass is the CSS class of a state's badge.
func stateClass(s string) string {
	switch s {
	case store.Done, "accepted":
		return "ok"
	case store.Failed, store.Cancelled:
		return "bad"
	case store.Running, store.Queued, store.Retrying:
		return "busy"
	}
	return "quiet"
}

// tailMax is how much of an action's output a page shows.
const tailMax = 4 << 10

// tail is the end of s, at most tailMax bytes, from a line start.
func tail(s string) string {
	if len(s) <= tailMax {
		return s
	}
	s = s[len(s)-tailMax:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "…\n" + s
}

func eventID(r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// statsCache keeps the 24-hour statistics for a few seconds: the overview
// and rules pages read every event of the day.
type statsCache struct {
	mu  sync.Mutex
	at  time.Time
	val *store.Stats
}

const statsTTL = 10 * time.Second

func (s *Server) dayStats(now time.Time) (*store.Stats, error) {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	if s.stats.val != nil && now.Sub(s.stats.at) < statsTTL {
		return s.stats.val, nil
	}
	end := now.UTC().Truncate(time.Minute)
	st, err := s.e.Store().Stats(end.Add(-24*time.Hour+time.Minute), end.Add(time.Minute-1), 10)
	if err != nil {
		return nil, err
	}
	s.stats.val, s.stats.at = st, now
	return st, nil
}

// parseTime reads a time filter: a duration ago (2h, 30m), an RFC 3339
// time, or a date and time in UTC (2026-01-02 15:04, or with a T).
func parseTime(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := rules.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSuffix(v, " UTC")); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: write a duration ago such as 2h or 7d, or a UTC time such as 2026-01-02 15:04", v)
}
