package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Diag is one problem found while loading, at a place in a file.
type Diag struct {
	File    string
	Line    int
	Col     int
	Msg     string
	Warning bool
	// Text is the file's line at Line, for Quote.
	Text string
}

func (d Diag) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Col)
	}
	b.WriteString(": ")
	if d.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Quote shows the place of d, as a compiler does: the line, numbered, and
// a caret under the column. It is "" when d has no such place. The first
// line of a report stays String(), which tools parse.
func (d Diag) Quote() string {
	if d.Line <= 0 || d.Col <= 0 || strings.ContainsAny(d.Text, "\r\n") {
		return ""
	}
	runes := []rune(d.Text)
	if d.Col > len(runes)+1 {
		return ""
	}
	// Tabs before the column stay tabs, so the caret lines up however
	// the terminal shows them.
	var pad strings.Builder
	for _, r := range runes[:d.Col-1] {
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	return fmt.Sprintf("%5d | %s\n%5s | %s^", d.Line, d.Text, "", pad.String())
}

// quoteSource fills the Text of the diagnostics of file from its source.
func quoteSource(diags []Diag, file string, src []byte) {
	var lines []string
	for i := range diags {
		d := &diags[i]
		if d.File != file || d.Line <= 0 {
			continue
		}
		if lines == nil {
			lines = strings.Split(string(src), "\n")
		}
		if d.Line <= len(lines) {
			d.Text = strings.TrimSuffix(lines[d.Line-1], "\r")
		}
	}
}

// Errors is every error of a failed load, in file and line order. Its Error
// string has one `file:line:col: message` line each.
type Errors []Diag

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, d := range e {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

func sortDiags(ds []Diag) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
