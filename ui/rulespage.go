package ui

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"hookd/rules"
)

type sourceRow struct {
	Name, Path, Provider, Allow, At string
	Rules                           []string
}

type ruleRow struct {
	Name, When, Concurrency, Sources, At string
	Actions                              []string
	Matches, Failures                    int
}

type rulesData struct {
	Sources  []sourceRow
	Rules    []ruleRow
	ReloadOK bool
	ReloadAt time.Time
	Errors   []string
	Warnings []string
	StatsErr string
}

func ruleNames(m map[string]*rules.Rule) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// actionBrief says what a rule runs in a few words, secrets hidden.
func actionBrief(acts []*rules.Action, redact func(string) string) []string {
	var out []string
	for _, a := range acts {
		out = append(out, redact(a.Brief()))
	}
	return out
}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request) {
	set := s.e.Rules()
	d := &rulesData{Errors: s.e.ReloadErrors()}
	d.ReloadOK, d.ReloadAt = s.e.LastReload()
	for _, name := range s.e.SourceNames() {
		src := set.Sources[name]
		row := sourceRow{Name: name, Path: src.Path, Provider: src.Provider, At: fmt.Sprintf("%s:%d", src.File, src.Line)}
		var allow []string
		for _, p := range src.Allow {
			allow = append(allow, p.String())
		}
		row.Allow = strings.Join(allow, ", ")
		for _, rl := range src.Rules {
			row.Rules = append(row.Rules, rl.Name)
		}
		d.Sources = append(d.Sources, row)
	}
	st, err := s.dayStats(time.Now())
	if err != nil {
		d.StatsErr = err.Error()
	}
	for _, name := range ruleNames(set.Rules) {
		rl := set.Rules[name]
		row := ruleRow{Name: name, When: rl.WhenSrc, Concurrency: rl.Concurrency, Actions: actionBrief(rl.Actions, s.e.Redact),
			Sources: strings.Join(rl.Sources, ", "), At: fmt.Sprintf("%s:%d", rl.File, rl.Line)}
		if st != nil {
			row.Matches, row.Failures = st.Matches[name], st.Failures[name]
		}
		d.Rules = append(d.Rules, row)
	}
	for _, wd := range set.Warnings {
		d.Warnings = append(d.Warnings, wd.String())
	}
	s.render(w, http.StatusOK, "rules", "Rules", d)
}
