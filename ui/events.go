package ui

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"hookd/rules"
	"hookd/store"
)

// statuses are the outcomes and job states the events page filters by.
var statuses = []string{"accepted", "ignored", store.Queued, store.Running, store.Retrying, store.Done, store.Failed, store.Superseded, store.Cancelled}

// filters are the events page's query parameters.
type filters struct {
	Source, Rule, State, Since, Until, Delivery string
	Before                                      uint64
}

// filterNames are the events page's query parameters. status is the state
// filter's former name, still read for links and bookmarks that use it.
var filterNames = []string{"source", "rule", "state", "status", "since", "until", "delivery", "before"}

// readFilters reads the events page's query; a parameter it does not know,
// or state and status that disagree, is an error for the user, never
// silently ignored.
func readFilters(q url.Values) (filters, error) {
	f := filters{Source: q.Get("source"), Rule: q.Get("rule"), State: q.Get("state"), Since: q.Get("since"), Until: q.Get("until"),
		Delivery: strings.TrimSpace(q.Get("delivery"))}
	if old := q.Get("status"); old != "" {
		if f.State != "" && f.State != old {
			return f, fmt.Errorf("state=%s and status=%s disagree: status is the former name of state; give only state", f.State, old)
		}
		f.State = old
	}
	var unknown []string
	for k := range q {
		if !slices.Contains(filterNames, k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		what := "an unknown filter"
		if len(unknown) > 1 {
			what = "unknown filters"
		}
		return f, fmt.Errorf("%s %s: the events page filters by source, rule, state, since, until and delivery", what, strings.Join(unknown, ", "))
	}
	if b := q.Get("before"); b != "" {
		var err error
		if f.Before, err = strconv.ParseUint(b, 10, 64); err != nil {
			return f, fmt.Errorf("before: %q is not an event id", b)
		}
	}
	return f, nil
}

// values are the filters as a query string, without the cursor.
func (f filters) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"source": f.Source, "rule": f.Rule, "state": f.State, "since": f.Since, "until": f.Until, "delivery": f.Delivery} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// query turns the filters into a store query; an error is for the user.
func (f filters) query(now time.Time) (store.EventQuery, error) {
	q := store.EventQuery{Source: f.Source, Rule: f.Rule, Status: f.State, Before: f.Before}
	if q.Status != "" && !slices.Contains(statuses, q.Status) {
		return q, fmt.Errorf("unknown state %q: the states are %s", q.Status, strings.Join(statuses, ", "))
	}
	var err error
	if q.Since, err = parseTime(f.Since, now); err != nil {
		return q, fmt.Errorf("since: %w", err)
	}
	if q.Until, err = parseTime(f.Until, now); err != nil {
		return q, fmt.Errorf("until: %w", err)
	}
	return q, nil
}

// row is one line of the events table.
type row struct {
	store.EventBrief
	Duration time.Duration // from receipt to the last job's end, when all ended
}

func rowOf(b store.EventBrief) row {
	r := row{EventBrief: b}
	var last time.Time
	for _, j := range b.Jobs {
		if !store.Final(j.State) {
			return r
		}
		if j.Updated.After(last) {
			last = j.Updated
		}
	}
	if !last.IsZero() {
		r.Duration = last.Sub(b.ReceivedAt)
	}
	return r
}

type eventsData struct {
	F        filters
	Sources  []string
	Rules    []string
	Statuses []string
	Rows     []row
	Error    string
	Next     string // the next page's URL, "" on the last
	First    bool   // the first page: live rows are added on top
	Newest   uint64
	Examples []example // for the empty state
	Stream   string    // the live stream's URL
	Listen   string    // the webhook listener's URL, for the empty state
}

// example is how to send a first webhook to a source.
type example struct {
	Source, Path, Provider string
	Sign                   string // the hookd sign command, "" when it needs the provider's own options
}

// signArgs are the hookd sign arguments of the providers that need only a
// secret (the generic hmac, token and basic need their options).
var signArgs = map[string]string{"none": "-provider none", "github": "-provider github -secret \"$SECRET\"",
	"gitlab": "-provider gitlab -secret \"$SECRET\"", "gitea": "-provider gitea -secret \"$SECRET\"",
	"bitbucket": "-provider bitbucket -secret \"$SECRET\"", "stripe": "-provider stripe -secret \"$SECRET\"",
	"shopify": "-provider shopify -secret \"$SECRET\"", "slack": "-provider slack -secret \"$SECRET\"",
	"standard": "-provider standard -secret \"$SECRET\""}

func init() {
	// The preset senders that sign the body as it is (not linear, which
	// signs inside it).
	for _, p := range []string{"sentry", "pagerduty", "paddle", "jira", "buildkite", "circleci", "vercel", "heroku", "typeform", "intercom"} {
		signArgs[p] = "-provider " + p + " -secret \"$SECRET\""
	}
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	f, err := readFilters(r.URL.Query())
	d := &eventsData{F: f, Sources: s.e.SourceNames(), Rules: ruleNames(s.e.Rules().Rules), Statuses: statuses, First: f.Before == 0}
	var q store.EventQuery
	if err == nil {
		q, err = f.query(time.Now().UTC())
	}
	if err != nil {
		d.Error = err.Error()
		s.render(w, http.StatusBadRequest, "events", "Events", d)
		return
	}
	var evs []store.EventBrief
	var next uint64
	if f.Delivery != "" {
		evs, err = s.byDelivery(f)
	} else {
		evs, next, err = s.e.Store().QueryEvents(q)
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	for _, b := range evs {
		d.Rows = append(d.Rows, rowOf(b))
	}
	if next != 0 {
		v := f.values()
		v.Set("before", strconv.FormatUint(next, 10))
		d.Next = "/events?" + v.Encode()
	}
	d.Newest = s.e.Store().NewestEventID()
	if len(d.Rows) > 0 && d.Rows[0].ID > d.Newest {
		d.Newest = d.Rows[0].ID
	}
	sv := f.values()
	var watch []string
	for _, b := range evs {
		if !settled(b) && len(watch) < watchCap {
			watch = append(watch, strconv.FormatUint(b.ID, 10))
		}
	}
	if len(watch) > 0 {
		sv.Set("watch", strings.Join(watch, ","))
	}
	d.Stream = "/events/stream?" + sv.Encode()
	if len(d.Rows) == 0 {
		d.Listen = webhookURL(s.e.Config(), s.e.Addr())
		set := s.e.Rules()
		for _, name := range d.Sources {
			src := set.Sources[name]
			ex := example{Source: name, Path: src.Path, Provider: src.Provider}
			if a, ok := signArgs[src.Provider]; ok {
				ex.Sign = "hookd sign " + a + " -body body.json"
			}
			d.Examples = append(d.Examples, ex)
		}
	}
	s.render(w, http.StatusOK, "events", "Events", d)
}

// byDelivery finds events by delivery id: a lookup in the de-duplication
// index of each source (or the one chosen), not a scan.
func (s *Server) byDelivery(f filters) ([]store.EventBrief, error) {
	srcs := s.e.SourceNames()
	if f.Source != "" {
		srcs = []string{f.Source}
	}
	var out []store.EventBrief
	for _, src := range srcs {
		id := s.e.Store().Seen(src, f.Delivery)
		if id == 0 {
			continue
		}
		evs, _, err := s.e.Store().QueryEvents(store.EventQuery{Before: id + 1, After: id - 1, Limit: 1})
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// webhookURL is where the webhook listener is reached from this machine.
func webhookURL(c rules.Config, addr string) string {
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
