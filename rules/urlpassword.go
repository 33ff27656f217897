package rules

import "strings"

// hideUserinfo replaces a URL's password with [redacted]: a URL as sent
// (hookd test, the dashboard's /try) or as written, templates and all
// (Brief, the dashboard's rules). It works on the text, so that the rest
// of the URL shows as written, not re-escaped.
func hideUserinfo(s string) string {
	i, j := passwordSpan(s)
	if i < 0 {
		return s
	}
	return s[:i] + redacted + s[j:]
}

// passwordSpan returns where the password of URL s is, s[i:j], or -1, -1
// when it has none. The URL may hold templates.
func passwordSpan(s string) (int, int) {
	scheme := strings.Index(s, "://")
	if scheme < 0 {
		return -1, -1
	}
	start := scheme + len("://")
	end := len(s)
	if k := strings.IndexAny(s[start:], "/?#"); k >= 0 {
		end = start + k
	}
	at := strings.LastIndexByte(s[start:end], '@')
	if at < 0 {
		return -1, -1
	}
	colon := strings.IndexByte(s[start:start+at], ':')
	if colon < 0 {
		return -1, -1
	}
	return start + colon + 1, start + at
}
