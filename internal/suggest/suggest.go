// Package suggest finds the name a user most likely meant when they wrote
// one hookd does not know: "did you mean github?".
package suggest

import "strings"

// Closest returns the candidate nearest to word, compared without case, if
// it is near enough to be a slip of the keyboard (an edit or two, fewer for
// short words), else "". Of equally near candidates the first wins.
func Closest(word string, candidates []string) string {
	w := strings.ToLower(word)
	if w == "" {
		return ""
	}
	best, bestDist := "", maxDist(w)+1
	for _, c := range candidates {
		if d := distance(w, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// maxDist is how many edits a word may be from what was meant: one for a
// word of up to four letters, two up to eight, three beyond.
func maxDist(w string) int {
	switch n := len([]rune(w)); {
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	}
	return 3
}

// distance is the optimal string alignment distance of a and b: the edits
// (insert, delete, replace, swap two neighbours) that turn a into b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
