package engine

import (
	"net/http"
	"net/url"
	"testing"

	"hookd/store"
)

// urlpath and urlquery keep payload text inside one path segment and one
// query value: a / . # & ? in it changes neither the path nor the query.
func TestURLEscapingFunctions(t *testing.T) {
	uris := make(chan string, 4)
	srv := newRecorder(t, func(n int, w http.ResponseWriter, r *http.Request) { uris <- r.RequestURI })
	te := startEngine(t, "", withRules(srv.URL, `
  - name: esc
    source: github
    when: urlquery(body.msg) != body.msg && urlpath(body.n) == "42"
    actions:
      - http: {url: "$URL/u/{{ urlpath(body.msg) }}?q={{ urlquery(body.msg) }}&n={{ urlquery(body.n) }}&none={{ urlquery(body.none) }}"}
`), nil)
	const msg = "a b&admin=1#frag/../../x?y=é+"
	j := te.deliver(`{"msg":"a b&admin=1#frag/../../x?y=\u00e9+","n":42}`, 1)[0]
	if j.State != store.Done {
		t.Fatalf("job %+v", j)
	}
	got, err := url.ParseRequestURI(<-uris)
	if err != nil {
		t.Fatal(err)
	}
	q := got.Query()
	if got.Path != "/u/"+msg || q.Get("q") != msg || q.Get("n") != "42" || !q.Has("none") || q.Get("none") != "" || len(q) != 3 {
		t.Fatalf("request %s: path %q, query %v", got, got.Path, q)
	}
}
