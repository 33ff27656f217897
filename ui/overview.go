package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"hookd/store"
)

type count struct {
	Name string
	N    int
}

type overviewData struct {
	Chart                     template.HTML
	Legend                    []legend
	Total                     int
	Since, Until              time.Time
	Outcomes                  []count
	Queued, Running, Retrying int
	QueueScope, QueueErr      string // on a cluster: whose jobs are counted
	Failing                   []count
	Slowest                   []store.SlowAction
	Peak                      int
	Hours                     []time.Time
}

type legend struct {
	Source, Color string
	Total         int
}

// palette tells sources apart, with enough contrast on white.
var palette = []string{"#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bc4c00", "#0969da", "#bf3989", "#57606a"}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	st, err := s.dayStats(time.Now())
	if err != nil {
		s.storeError(w, err)
		return
	}
	d := &overviewData{Total: st.Events, Since: st.Since, Until: st.Since.Add(24 * time.Hour)}
	q := s.e.ClusterQueue()
	d.Queued, d.Running, d.Retrying, d.QueueScope = q.Queued, q.Running, q.Retrying, q.Scope
	if q.Err != nil {
		d.QueueErr = s.e.Redact(q.Err.Error())
	}
	d.Outcomes = sortedCounts(st.Statuses)
	d.Failing = sortedCounts(st.Failures)
	d.Slowest = st.Slowest
	d.Chart, d.Legend, d.Peak = chart(st)
	d.Hours = hours(st.Since)
	s.render(w, http.StatusOK, "overview", "Overview", d)
}

func sortedCounts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, n := range m {
		if n > 0 {
			out = append(out, count{k, n})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].N > out[j].N || (out[i].N == out[j].N && out[i].Name < out[j].Name) })
	return out
}

// chart draws deliveries per minute per source over the day as an SVG:
// one polyline a source, a grid line every 3 hours (labelled in HTML under
// it, where text is not stretched with the drawing).
func chart(st *store.Stats) (template.HTML, []legend, int) {
	const w, h = 1440, 200
	srcs := make([]string, 0, len(st.PerMin))
	peak := 1
	for src, per := range st.PerMin {
		srcs = append(srcs, src)
		for _, n := range per {
			peak = max(peak, n)
		}
	}
	sort.Strings(srcs)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-labelledby="chart-title"><title id="chart-title">Deliveries per minute per source, last 24 hours</title>`, w, h)
	for i := 0; i <= 24; i += 3 {
		fmt.Fprintf(&b, `<line x1="%d" y1="0" x2="%d" y2="%d" class="grid" vector-effect="non-scaling-stroke"/>`, i*60, i*60, h)
	}
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" class="axis" vector-effect="non-scaling-stroke"/>`, h, w, h)
	var leg []legend
	for i, src := range srcs {
		color := palette[i%len(palette)]
		total := 0
		var pts strings.Builder
		for m, n := range st.PerMin[src] {
			total += n
			fmt.Fprintf(&pts, "%d,%d ", m, h-n*(h-10)/peak)
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" vector-effect="non-scaling-stroke" points="%s"/>`, color, strings.TrimSpace(pts.String()))
		leg = append(leg, legend{Source: src, Color: color, Total: total})
	}
	b.WriteString(`</svg>`)
	// Only numbers and fixed colors: nothing comes from a request.
	return template.HTML(b.String()), leg, peak
}

// hours are the chart's grid lines' times, every 3 hours.
func hours(since time.Time) []time.Time {
	var out []time.Time
	for i := 0; i <= 24; i += 3 {
		out = append(out, since.Add(time.Duration(i)*time.Hour))
	}
	return out
}
