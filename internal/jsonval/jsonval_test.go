package jsonval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// reference is the encoding/json pipeline Parse replaces.
func reference(raw []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return numbers(v), true
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 0); err == nil {
			return int(i)
		}
		if !strings.ContainsAny(string(x), ".eE") {
			return Number(x)
		}
		f, err := x.Float64()
		if err != nil {
			return string(x)
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

func nest(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

// tricky inputs, each compared with reference.
var tricky = []string{
	// empty and whitespace
	``, ` `, " \t\r\n", "\v1", "\f1", "\u00a01", "\u20281",
	" \t\r\n1 \t\r\n", "\n[\n1\n,\n2\n]\n", "{ \"a\" : 1 , \"b\" : [ ] }",
	// trailing data and two values
	`1 2`, `{}{}`, `[]x`, `"a""b"`, `1,`, `[1]]`, `{}}`, `1 x`, `null null`, "1\x00", `truex`, `[1]:`,
	// BOM
	"\xef\xbb\xbf1", "\xef\xbb\xbf{}", "1\xef\xbb\xbf", `"` + "\xef\xbb\xbf" + `"`,
	// literals
	`true`, `false`, `null`, `tru`, `nul`, `True`, `NULL`, `nan`, `NaN`, `Infinity`, `-Infinity`, `[true,false,null]`,
	// empty containers and strings
	`{}`, `[]`, `""`, `[""]`, `{"":""}`, `[{}]`, `[[]]`, `{"a":{}}`, `{"a":[]}`, `[[],{}]`,
	// structure errors
	`[`, `]`, `{`, `}`, `[1`, `[1,`, `[1,]`, `[,1]`, `[1 2]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`,
	`{"a" 1}`, `{a:1}`, `{'a':1}`, `{1:1}`, `{"a":1 "b":2}`, `{"a":1]`, `[1}`, `{"a"::1}`, `[:]`, `{"a":1:2}`,
	// duplicate keys
	`{"a":1,"a":2}`, `{"a":1,"b":2,"a":3}`, `{"a":{"x":1},"a":[1]}`, `{"\u0061":1,"a":2}`, `{"a":1,"\u0061":2}`,
	// numbers
	`0`, `-0`, `-0.0`, `0.0`, `1`, `-1`, `123456789`, `1.5`, `-1.5`, `1e3`, `1E3`, `1e+3`, `1e-3`, `1.5e300`,
	`9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `-9223372036854775809`,
	`999999999999999999`, `1000000000000000000`, `-999999999999999999`, `-1000000000000000000`,
	`18446744073709551616`, `123456789012345678901234567890`, `1e400`, `-1e400`, `1.5e-400`, `-1.5e-400`,
	`4.9e-324`, `2e-324`, `1.7976931348623157e308`, `1.7976931348623159e308`, `1e-99999999999999999999`,
	`1e99999999999999999999`, `0.1`, `0e0`, `0E-0`, `-0e+0`,
	`01`, `-01`, `00`, `1.`, `.1`, `-`, `+1`, `-.1`, `1e`, `1e+`, `1e-`, `1.e1`, `0x10`, `1_000`, `- 1`, `--1`, `1.0.0`, `1ee1`,
	`[1,-0,0.5,1e2,-9223372036854775808,9223372036854775808,1e400]`, `{"n":-1e400}`,
	// escapes
	`"\"\\\/\b\f\n\r\t"`, `"\u0000"`, `"\u001f"`, `"\u0041\u00e9\u4e2d"`, `"\uABCD\uabcd"`, `"a\u0022b"`, `"\u005c"`,
	`"\a"`, `"\'"`, `"\x41"`, `"\U00000041"`, `"\u"`, `"\u12"`, `"\u123"`, `"\u12G4"`, `"\`, `"\u`, `"\u00`, `"\0"`, `"\ "`,
	// surrogates
	`"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`,
	`"\ude00\ud83d"`, `"\ud83d\n"`, `"\ud83d\"`, `"\ud83d\u"`, `"\ud83d\u12"`, `"\ud83d\uzzzz"`, `"\ud83d\\ude00"`,
	`"\udbff\udfff"`, `"\ud800\udc00"`, `"\ud7ff\udc00"`, `"\ue000"`, `"x\ud800"`, `{"\ud800":1}`, `"\ud83d\ude00\ude00"`,
	`"\ud800\ud800\udc00"`, `"\ud83d` + "\xff" + `"`, `"\ud83d\uDE00tail"`,
	// control characters
	"\"\x00\"", "\"\x01\"", "\"\x1f\"", "\"\t\"", "\"\n\"", "\"a\rb\"", "\"\x7f\"", "\"\\n\x01\"", "{\"\x01\":1}",
	// invalid UTF-8 in strings
	"\"\x80\"", "\"\xbf\"", "\"a\x80b\"", "\"\xc3\"", "\"\xc3\xa9\"", "\"\xe2\x82\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\"",
	"\"\xf0\x9f\x98\x80\"", "\"\xc0\xaf\"", "\"\xc1\xbf\"", "\"\xe0\x80\xaf\"", "\"\xf0\x80\x80\xaf\"", "\"\xed\xa0\x80\"",
	"\"\xed\xbf\xbf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xfe\xff\"", "\"\xff\"", "\"\xef\xbf\xbd\"",
	"\"\xc3\\n\"", "\"\\n\xc3\"", "\"\\u0041\xe2\x82\"", "\"\xe2\x82", "\"\xc3", "{\"\xff\":\"\xfe\"}",
	"{\"\xff\":1,\"\xfe\":2}", "[\"\xff\",\"ok\",\"\\t\"]", "\"\xf0\x9f\x98\x80\\ud83d\"",
	// invalid UTF-8 and other bytes outside strings
	"\xff", "[\xff]", "{\"a\":1\x80}", "\x80", "\xc3\xa9",
	// unterminated strings
	`"`, `"abc`, `["abc`, `{"abc`, `{"a":"b`, `"abc\"`,
	// nesting
	nest("[", "]", 100), nest("[", "]", 9999), nest("[", "]", 10000), nest("[", "]", 10001),
	strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000),
	strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001),
	strings.Repeat(`[{"a":`, 5000) + `1` + strings.Repeat(`}]`, 5000),
	strings.Repeat(`[{"a":`, 5000) + `[1]` + strings.Repeat(`}]`, 5000),
	strings.Repeat("[", 10000), strings.Repeat("[", 10001), strings.Repeat("[", 1<<20),
	nest("[", "]", 10000) + "x", "[" + nest("[", "]", 9999) + "," + nest("[", "]", 9999) + "]",
	// mixed documents
	`{"ref":"refs/heads/main","n":[1,2.5,"x",{"y":null}],"ok":true}`,
	`[1,[2,[3,[4,{"a":[5]}]]],6]`,
	`{"a":[1,{"b":[2,{"c":3}]}],"d":"e"}`,
}

func TestParseMatchesReference(t *testing.T) {
	for i, in := range tricky {
		name := in
		if len(name) > 40 {
			name = fmt.Sprintf("%.40s...(%d bytes)", name, len(name))
		}
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			compare(t, []byte(in), name)
		})
	}
}

// compare reports any difference between Parse and reference on in.
func compare(t *testing.T, in []byte, name string) {
	t.Helper()
	want, ok := reference(in)
	got, err := Parse(in)
	if (err == nil) != ok {
		t.Fatalf("Parse(%q): err = %v, reference accepts = %v", name, err, ok)
	}
	if ok && !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse(%q) = %#v, reference = %#v", name, got, want)
	}
}

// TestParseValues pins the results the reference comparison relies on, so
// a change in either would show up here.
func TestParseValues(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`-0`, 0},
		{`-0.0`, math.Copysign(0, -1)},
		{`9223372036854775807`, 9223372036854775807},
		{`9223372036854775808`, Number("9223372036854775808")},
		{`12345678901234567890`, Number("12345678901234567890")},
		{`-123456789012345678901234567890`, Number("-123456789012345678901234567890")},
		{`9223372036854775808.0`, 9223372036854775808.0},
		{`12345678901234567890e0`, 12345678901234567890e0},
		{`1e400`, "1e400"},
		{`-1e400`, "-1e400"},
		{`1.5e-400`, 0.0},
		{`1e3`, 1000.0},
		{`"\ud83d\ude00"`, "\U0001F600"},
		{`"\ud83d"`, "\uFFFD"},
		{`"\ude00"`, "\uFFFD"},
		{`"\ud83d\u0041"`, "\uFFFDA"},
		{`"\ud83d\ud83d\ude00"`, "\uFFFD\U0001F600"},
		{"\"\xe2\x82\"", "\uFFFD\uFFFD"},
		{"\"\xc0\xaf\"", "\uFFFD\uFFFD"},
		{`"\"\\\/\b\f\n\r\t\u0000"`, "\"\\/\b\f\n\r\t\x00"},
		{`{"a":1,"a":2}`, map[string]any{"a": 2}},
		{`[]`, []any{}},
		{`{}`, map[string]any{}},
		{` [true, null, "x"] `, []any{true, nil, "x"}},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.in))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
		// DeepEqual treats -0.0 and 0.0 as equal; the sign must survive too.
		if f, ok := tt.want.(float64); ok && math.Signbit(f) != math.Signbit(gotFloat(got)) {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, f)
		}
	}
}

func TestParseErrorOffset(t *testing.T) {
	_, err := Parse([]byte(`{"a": [1, 2, x]}`))
	if err == nil || !strings.Contains(err.Error(), "'x'") || !strings.Contains(err.Error(), "offset 13") {
		t.Errorf("err = %v, want invalid character 'x' at offset 13", err)
	}
}

// TestParseSharesInput checks that plain strings are substrings of one
// copy of the input rather than separate allocations.
func TestParseSharesInput(t *testing.T) {
	v, err := Parse([]byte(`["abc","def","g\nh"]`))
	if err != nil {
		t.Fatal(err)
	}
	a := v.([]any)
	p0 := uintptr(unsafe.Pointer(unsafe.StringData(a[0].(string))))
	p1 := uintptr(unsafe.Pointer(unsafe.StringData(a[1].(string))))
	if p1-p0 != 6 {
		t.Errorf("plain strings are not substrings of the input: %#x, %#x", p0, p1)
	}
	if a[2] != "g\nh" {
		t.Errorf("escaped string = %q", a[2])
	}
}

// TestParseScratchReuse parses documents back to back, so pooled scratch
// left by an earlier (possibly failed) parse cannot leak into a later one.
func TestParseScratchReuse(t *testing.T) {
	for range 3 {
		for _, in := range tricky {
			compare(t, []byte(in), in)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, in := range tricky {
		if len(in) <= 64<<10 { // mutating the 1 MB seed would only slow the fuzzer down
			f.Add([]byte(in))
		}
	}
	f.Add(pushPayload())
	f.Fuzz(func(t *testing.T, in []byte) {
		compare(t, in, string(in))
	})
}

// pushPayload is a compact GitHub push event of about 7 KB.
func pushPayload() []byte {
	const api = "https://api.github.com/repos/acme/widgets"
	repo := map[string]any{
		"id": 123456789, "node_id": "R_kgDOHk3xYw", "name": "widgets", "full_name": "acme/widgets",
		"private": false, "html_url": "https://github.com/acme/widgets",
		"description": "Widgets, gadgets and \"gizmos\" \u2014 for everyone", "fork": false,
		"created_at": 1700000000, "updated_at": "2024-05-01T12:00:00Z", "pushed_at": 1714564800,
		"git_url": "git://github.com/acme/widgets.git", "ssh_url": "git@github.com:acme/widgets.git",
		"clone_url": "https://github.com/acme/widgets.git", "svn_url": "https://github.com/acme/widgets",
		"homepage": nil, "size": 4821, "stargazers_count": 42, "watchers_count": 42, "language": "Go",
		"has_issues": true, "has_projects": true, "has_downloads": true, "has_wiki": false, "has_pages": false,
		"forks_count": 7, "mirror_url": nil, "archived": false, "disabled": false, "open_issues_count": 3,
		"license":       map[string]any{"key": "mit", "name": "MIT License", "spdx_id": "MIT", "url": "https://api.github.com/licenses/mit", "node_id": "MDc6TGljZW5zZTEz"},
		"allow_forking": true, "is_template": false, "topics": []any{"go", "webhooks"}, "visibility": "public",
		"forks": 7, "open_issues": 3, "watchers": 42, "default_branch": "main", "stargazers": 42, "master_branch": "main",
		"organization": "acme",
	}
	for _, k := range []string{
		"forks", "keys", "collaborators", "teams", "hooks", "issue_events", "events", "assignees", "branches",
		"tags", "blobs", "git_tags", "git_refs", "trees", "statuses", "languages", "stargazers", "contributors",
		"subscribers", "subscription", "commits", "git_commits", "comments", "issue_comment", "contents", "compare",
		"merges", "archive", "downloads", "issues", "pulls", "milestones", "notifications", "labels", "releases",
		"deployments",
	} {
		repo[k+"_url"] = api + "/" + k + "{/number}"
	}
	for _, k := range []string{"url", "archive", "blobs", "deployments", "stats", "tarball", "zipball", "traffic", "actions"} {
		repo[k+"_url"] = api + "/" + k
	}
	user := func(login string, id int) map[string]any {
		u := "https://api.github.com/users/" + login
		return map[string]any{
			"login": login, "id": id, "node_id": "MDQ6VXNlcjE=", "avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.Itoa(id) + "?v=4",
			"gravatar_id": "", "url": u, "html_url": "https://github.com/" + login, "followers_url": u + "/followers",
			"following_url": u + "/following{/other_user}", "gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
			"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs", "repos_url": u + "/repos",
			"events_url": u + "/events{/privacy}", "received_events_url": u + "/received_events", "type": "User", "site_admin": false,
		}
	}
	repo["owner"] = user("acme", 1000001)
	commit := map[string]any{
		"id": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
		"distinct": true, "message": "Fix the frobnicator\n\nIt was frobbing twice; see #123.\n\tSigned-off-by: Dev <dev@example.com>",
		"timestamp": "2024-05-01T12:00:00+02:00", "url": "https://github.com/acme/widgets/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e",
		"author":    map[string]any{"name": "Dev Eloper", "email": "dev@example.com", "username": "dev"},
		"committer": map[string]any{"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
		"added":     []any{"docs/frob.md"}, "removed": []any{}, "modified": []any{"frob/frob.go", "frob/frob_test.go"},
	}
	payload := map[string]any{
		"ref": "refs/heads/main", "before": "a10867b14bb761a232cd80139fbd4c0d33264240",
		"after": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "repository": repo,
		"pusher": map[string]any{"name": "dev", "email": "dev@example.com"}, "sender": user("dev", 2000002),
		"created": false, "deleted": false, "forced": false, "base_ref": nil,
		"compare": "https://github.com/acme/widgets/compare/a10867b14bb7...6dcb09b5b578",
		"commits": []any{commit}, "head_commit": commit,
	}
	b, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return b
}

func TestPushPayload(t *testing.T) {
	in := pushPayload()
	if len(in) < 6000 || len(in) > 8000 {
		t.Errorf("payload is %d bytes, want about 7 KB", len(in))
	}
	compare(t, in, "push payload")
}

func BenchmarkParse(b *testing.B) {
	in := pushPayload()
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := Parse(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, ok := reference(in); !ok {
				b.Fatal("rejected")
			}
		}
	})
}

func gotFloat(v any) float64 {
	f, _ := v.(float64)
	return f
}
