package rules

import (
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// secondDocument refuses a file of several YAML documents (split by ---):
// hookd reads one document per file, and a document after the first would
// otherwise be dropped without a word. A trailing document that holds
// nothing (a last ---, or comments) loses nothing and is let be. The
// Diag returned has no File.
func secondDocument(text string, first *yaml.Node, dec *yaml.Decoder, rulesFile bool) *Diag {
	var next yaml.Node
	err := dec.Decode(&next)
	if err == io.EOF || (err == nil && emptyDocument(&next)) {
		if err == nil {
			return secondDocument(text, first, dec, rulesFile)
		}
		return nil
	}
	line := next.Line
	if err != nil || line == 0 {
		line = documentMarker(text, first.Line)
	}
	if line == 0 {
		// No --- to point at (content after a ... end marker).
		pos, msg := locateSyntaxError(text, err)
		l, c := lineCol(text, pos)
		return &Diag{Line: l, Col: c, Msg: msg}
	}
	msg := "a file holds one YAML document, and this --- starts a second one, which hookd would not read: move its settings into the first document"
	if rulesFile {
		msg = "a file holds one YAML document, and this --- starts a second one, which hookd would not read: move its sources and rules into the first document, or into a file of their own"
	}
	if emptyDocument(first) {
		msg = fmt.Sprintf("a file holds one YAML document, and this --- starts a second one after an empty first (the --- at line %d, then nothing but comments): remove one of the two ---", first.Line)
	}
	return &Diag{Line: line, Col: 1, Msg: msg}
}

func emptyDocument(doc *yaml.Node) bool {
	return len(doc.Content) == 0 || isNull(doc.Content[0]) && doc.Content[0].Value == ""
}

// documentMarker returns the line of the first --- after line after, 0
// if there is none.
func documentMarker(text string, after int) int {
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if i+1 > after && (l == "---" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "---\t")) {
			return i + 1
		}
	}
	return 0
}
