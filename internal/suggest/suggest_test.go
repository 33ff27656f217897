package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"github", "gitlab", "gitea", "stripe", "slack", "standard", "hmac", "none", "token"}
	for _, tc := range []struct{ word, want string }{
		{"githb", "github"},     // a letter left out
		{"GitHub", "github"},    // case
		{"gtihub", "github"},    // two letters swapped
		{"sitripe", "stripe"},   // one too many
		{"gitlba", "gitlab"},    // swapped at the end
		{"standrd", "standard"}, // a letter left out of a long word
		{"hamc", "hmac"},        // a short word, swapped
		{"jwt", ""},             // nothing near
		{"bitbucket", ""},       // not among the candidates
		{"tokens", "token"},     // plural
		{"gitee", "gitea"},      // replaced
		{"slackbot", ""},        // three edits from slack, a word of 8
		{"", ""},                // nothing written
		{"gitlab-ci", "gitlab"}, // three edits, a long word
	} {
		if got := Closest(tc.word, names); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"abc", "abc", 0},
		{"abc", "acb", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3}, {"héllo", "hello", 1},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
