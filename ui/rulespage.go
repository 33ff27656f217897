package ui

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"hookd/rules"
)

type sourceRow struct {
	Name, Path, Provider, Allow, At, File string
	Rules                                 []string
}

type ruleRow struct {
	Name, When, Concurrency, Sources, At, File string
	Actions                                    []string
	Matches, Failures                          int
}

type rulesData struct {
	Dir      string // the rules directory, which the At columns are relative to
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

// at is file:line, the file relative to the rules directory when inside it:
// the full path of every row would be the same long prefix.
func (d *rulesData) at(file string, line int) string {
	if rel, err := filepath.Rel(d.Dir, file); err == nil && d.Dir != "" && filepath.IsLocal(rel) {
		file = rel
	}
	return fmt.Sprintf("%s:%d", file, line)
}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request) {
	set := s.e.Rules()
	d := &rulesData{Errors: s.e.ReloadErrors(), Dir: s.e.Config().RulesDir}
	d.ReloadOK, d.ReloadAt = s.e.LastReload()
	for _, name := range s.e.SourceNames() {
		src := set.Sources[name]
		row := sourceRow{Name: name, Path: src.Path, Provider: src.Provider, File: src.File, At: d.at(src.File, src.Line)}
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
		row := ruleRow{Name: name, When: s.e.Redact(rl.WhenSrc), Concurrency: rl.Concurrency, Actions: actionBrief(rl.Actions, s.e.Redact),
			Sources: strings.Join(rl.Sources, ", "), File: rl.File, At: d.at(rl.File, rl.Line)}
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
