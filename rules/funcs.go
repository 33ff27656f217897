package rules

import (
	"net/url"

	"github.com/expr-lang/expr"
)

// funcs are hookd's functions in every expression, beside expr-lang's
// builtins, which have none to escape text for a URL: a payload's text in
// http.url goes in as it is, so `/` and `..` change the path and `&`, `#`
// the query.
var funcs = []expr.Option{
	// urlquery escapes s for a query parameter's value: "a b&c" is "a+b%26c".
	expr.Function("urlquery", escaper(url.QueryEscape), new(func(any) string)),
	// urlpath escapes s for one path segment: "a/b c" is "a%2Fb%20c".
	expr.Function("urlpath", escaper(url.PathEscape), new(func(any) string)),
}

// envOpts are the options of an expression over env (Env{} or
// FailureEnv{}), with hookd's functions.
func envOpts(env any, more ...expr.Option) []expr.Option {
	opts := append([]expr.Option{expr.Env(env)}, funcs...)
	return append(opts, more...)
}

// escaper escapes a value rendered as a template renders it: urlpath(42)
// is "42", urlquery(nil) is "".
func escaper(escape func(string) string) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		s, err := Stringify(params[0])
		if err != nil {
			return nil, err
		}
		return escape(s), nil
	}
}
