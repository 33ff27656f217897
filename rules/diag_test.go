package rules

import "testing"

// Quote shows the line under the message with a caret under the column,
// and nothing when the place does not fit the line.
func TestDiagQuote(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Diag
		want string
	}{
		{"caret under the column", Diag{Line: 30, Col: 11, Text: `    when: "event == 'push'`},
			"   30 |     when: \"event == 'push'\n      |           ^"},
		{"tabs stay tabs", Diag{Line: 4, Col: 3, Text: "\t\tx: 1"}, "    4 | \t\tx: 1\n      | \t\t^"},
		{"wide runes count once", Diag{Line: 2, Col: 7, Text: "a: \"é€\" :"}, "    2 | a: \"é€\" :\n      |       ^"},
		{"just past the end", Diag{Line: 1, Col: 5, Text: "abcd"}, "    1 | abcd\n      |     ^"},
		{"beyond the line", Diag{Line: 1, Col: 9, Text: "abcd"}, ""},
		{"no line", Diag{Msg: "cannot read"}, ""},
		{"no column", Diag{Line: 3, Text: "x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.Quote(); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
