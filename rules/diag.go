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
	// quoted is the value Msg quotes or is derived from; when it holds a
	// secret, Msg becomes withheld (see redactDiags).
	quoted, withheld string
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

// quoteSource fills the Text of the diagnostics of file from its source,
// except for a line that holds one of secrets or may hold a secret: a
// quote must not carry a secret to a terminal, a CI log or the journal.
func quoteSource(diags []Diag, file string, src []byte, secrets []string) {
	var lines []string
	for i := range diags {
		d := &diags[i]
		if d.File != file || d.Line <= 0 {
			continue
		}
		if lines == nil {
			lines = strings.Split(string(src), "\n")
		}
		if d.Line > len(lines) {
			continue
		}
		text := strings.TrimSuffix(lines[d.Line-1], "\r")
		if !mayHoldSecret(lines, d.Line-1, secrets) {
			d.Text = text
		}
	}
}

// secretWords mark a line, or the block under a key, that may hold a
// secret; URLs may carry credentials in their user or query.
var secretWords = []string{"secret", "password", "passwd", "token", "auth", "api-key", "apikey", "api_key",
	"signature", "cookie", "bearer", "url", "://"}

// mayHoldSecret tells whether line i holds a known secret or a word of
// secretWords, itself or in the key its block is under (the secrets: of
// a list of secrets, the script: of a block of shell).
func mayHoldSecret(lines []string, i int, secrets []string) bool {
	for _, s := range secrets {
		if s != "" && strings.Contains(lines[i], s) {
			return true
		}
	}
	indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
	for j := i; j >= 0; j-- {
		l := strings.ToLower(lines[j])
		ind := len(l) - len(strings.TrimLeft(l, " "))
		if j < i && (strings.TrimSpace(l) == "" || ind >= indent) {
			continue
		}
		for _, w := range secretWords {
			if strings.Contains(l, w) {
				return true
			}
		}
		if j < i {
			indent = ind
		}
		if ind == 0 {
			return false
		}
	}
	return false
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
