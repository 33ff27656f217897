package cli

import (
	"fmt"
	"slices"
	"strings"

	"hookd/rules"
)

// checkExpect validates -expect: match, nomatch, or rule names of src.
func checkExpect(expect string, src *rules.Source) error {
	if expect == "" || expect == "match" || expect == "nomatch" || expect == "handshake" {
		return nil
	}
	var names []string
	for _, r := range src.Rules {
		names = append(names, r.Name)
	}
	for _, want := range strings.Split(expect, ",") {
		if !slices.Contains(names, want) {
			return fmt.Errorf("-expect: source %s has no rule %q (its rules: %s; or use match, nomatch, handshake)", src.Name, want, strings.Join(names, ", "))
		}
	}
	return nil
}

// expected compares the outcome with -expect; it returns the outcome as
// -expect would name it, and whether it is the one expected. A list of
// rules expects exactly those to match, in any order. A handshake is
// answered before any rule: it is nomatch too.
func expected(expect string, rep *testReport) (string, bool) {
	var matched []string
	for _, r := range rep.Rules {
		if r.Matched {
			matched = append(matched, r.Rule)
		}
	}
	got := "nomatch"
	if len(matched) > 0 {
		got = strings.Join(matched, ",")
	}
	if rep.Handshake != nil {
		got = "handshake"
	}
	switch expect {
	case "":
		return got, true
	case "handshake":
		return got, rep.Handshake != nil
	case "match":
		return got, len(matched) > 0
	case "nomatch":
		return got, len(matched) == 0
	}
	want := strings.Split(expect, ",")
	slices.Sort(want)
	have := slices.Clone(matched)
	slices.Sort(have)
	return got, slices.Equal(slices.Compact(want), have)
}
