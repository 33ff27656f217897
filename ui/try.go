package ui

import (
	"net/http"
	"net/url"
	"strings"

	"hookd/engine"
)

type tryData struct {
	Sources                      []string
	Source, Headers, Query, Body string
	Report                       *engine.DryRunReport
	Error                        string
}

// try is a dry run of a pasted request, as hookd test does: nothing is
// verified, recorded or run.
func (s *Server) try(w http.ResponseWriter, r *http.Request) {
	d := &tryData{Sources: s.e.SourceNames(), Headers: "Content-Type: application/json\n"}
	if r.Method != http.MethodPost {
		d.Source = r.URL.Query().Get("source")
		s.render(w, http.StatusOK, "try", "Try a payload", d)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.e.Config().MaxBody+64<<10)
	d.Source, d.Headers, d.Query, d.Body = r.FormValue("source"), r.FormValue("headers"), r.FormValue("query"), r.FormValue("body")
	h, err := parseHeaders(d.Headers)
	if err == nil {
		var q url.Values
		if q, err = url.ParseQuery(d.Query); err == nil {
			d.Report, err = s.e.DryRun(d.Source, h, q, []byte(d.Body))
		}
	}
	code := http.StatusOK
	if err != nil {
		d.Error, code = err.Error(), http.StatusBadRequest
	}
	s.render(w, code, "try", "Try a payload", d)
}

// parseHeaders reads "Name: value" lines; blank lines are skipped.
func parseHeaders(text string) (http.Header, error) {
	h := http.Header{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, &headerError{line}
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return h, nil
}

type headerError struct{ line string }

func (e *headerError) Error() string {
	return "headers: " + e.line + ": write one header a line, as Name: value"
}
