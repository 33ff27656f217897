package engine

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hookd/rules"
	"hookd/store"
)

// metrics are an Engine's Prometheus metrics, on a registry of its own so
// that several engines (tests) can live in one process.
//
// Label values only ever come from the configuration (source and rule
// names) or from fixed lists (outcomes, action kinds, job states): never a
// path, delivery id or address, which would make series unbounded.
type metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec
	verifyFailures *prometheus.CounterVec
	jobOutcomes    *prometheus.CounterVec
	attempts       *prometheus.CounterVec
	actionDuration *prometheus.HistogramVec
	commitDuration prometheus.Histogram
	commitWrites   prometheus.Histogram
	reloadOK       prometheus.Gauge
	reloadTime     prometheus.Gauge
	unwritten      *prometheus.CounterVec
}

// Request outcomes that every source gets a zero series for, so rate()
// and absent() work before the first such request.
var requestOutcomes = []string{"accepted", "redelivered", "ignored", "duplicate", "unauthorized", "bad_request", "forbidden", "too_large", "queue_full", "store_error", "rate_limited"}

// Job outcomes, likewise.
var jobOutcomes = []string{"done", "failed", "retry", "superseded", "cancelled", "interrupted"}

func newMetrics(e *Engine, version string) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookd_requests_total",
		Help: "Webhook requests by source and outcome (source is empty for an unknown path).",
	}, []string{"source", "outcome"})
	m.verifyFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookd_verification_failures_total",
		Help: "Requests whose signature, token or timestamp failed verification, by source.",
	}, []string{"source"})
	m.jobOutcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookd_job_outcomes_total",
		Help: "Job attempts' results by rule: done, failed, retry, superseded, cancelled, interrupted.",
	}, []string{"rule", "outcome"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookd_job_attempts_total",
		Help: "Job attempts started, by rule.",
	}, []string{"rule"})
	m.actionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "hookd_action_duration_seconds",
		Help: "Time each action took, by rule and action kind.",
		// Actions range from a Slack post to a deploy of several minutes.
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
	}, []string{"rule", "kind"})
	m.commitDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookd_intake_commit_duration_seconds",
		Help:    "Duration of each database commit (fsync included); accepted webhooks wait for one.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 13), // 0.5 ms .. 2 s
	})
	m.commitWrites = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookd_intake_commit_writes",
		Help:    "Writes grouped into each database commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 .. 1024, the batch cap
	})
	m.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hookd_config_last_reload_successful",
		Help: "1 if the last configuration load succeeded, 0 if it failed (the previous configuration stays in force).",
	})
	m.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hookd_config_last_reload_success_timestamp_seconds",
		Help: "Unix time of the last successful configuration load.",
	})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "hookd_build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	// The node's name as an info series rather than a label on every
	// series: one series per node, joined where wanted
	// (* on(instance) group_left(node) hookd_node_info), instead of a
	// longer label set on every sample of every series.
	driver := e.cfg.Store.Driver
	if driver == "" {
		driver = rules.DriverBbolt
	}
	node := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "hookd_node_info",
		Help:        "Always 1; node is this hookd's name (node: in hookd.yaml, or the hostname), store its store's driver.",
		ConstLabels: prometheus.Labels{"node": e.cfg.NodeName(), "store": driver},
	})
	node.Set(1)
	m.unwritten = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookd_ignored_unwritten_total",
		Help: "Ignored events answered whose write failed, by fate: kept (in memory, written again later), written (at last), lost (never written).",
	}, []string{"fate"})
	for _, f := range []string{"kept", "written", "lost"} {
		m.unwritten.WithLabelValues(f)
	}
	m.reg.MustRegister(m.unwritten)
	m.reg.MustRegister(m.requests, m.verifyFailures, m.jobOutcomes, m.attempts, m.actionDuration,
		m.commitDuration, m.commitWrites, m.reloadOK, m.reloadTime, build, node, &jobsCollector{d: func() *dispatcher { return e.disp }},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// sharedStore adds the cluster's count of jobs not final, which
// max_queued bounds on a shared store.
func (m *metrics) sharedStore(st store.Shared) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hookd_cluster_jobs_not_final",
		Help: "Jobs not final in the whole cluster, as last counted (at most a second old); max_queued bounds it.",
	}, func() float64 { return float64(st.Queued()) }))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// loaded records a configuration load (at start or reload) and creates the
// zero series of the new sources and rules.
func (m *metrics) loaded(set *rules.Set, err error) {
	if err != nil {
		m.reloadOK.Set(0)
		return
	}
	m.reloadOK.Set(1)
	m.reloadTime.Set(float64(time.Now().UnixNano()) / 1e9)
	for name := range set.Sources {
		m.verifyFailures.WithLabelValues(name)
		for _, o := range requestOutcomes {
			m.requests.WithLabelValues(name, o)
		}
	}
	for name := range set.Rules {
		m.attempts.WithLabelValues(name)
		for _, o := range jobOutcomes {
			m.jobOutcomes.WithLabelValues(name, o)
		}
	}
}

func (m *metrics) request(source, outcome string) {
	m.requests.WithLabelValues(source, outcome).Inc()
	if outcome == "unauthorized" {
		m.verifyFailures.WithLabelValues(source).Inc()
	}
}

func (m *metrics) jobOutcome(rule, outcome string) {
	m.jobOutcomes.WithLabelValues(rule, outcome).Inc()
}

func (m *metrics) attempt(rule string) { m.attempts.WithLabelValues(rule).Inc() }

func (m *metrics) action(rule, kind string, d time.Duration) {
	m.actionDuration.WithLabelValues(rule, kind).Observe(d.Seconds())
}

// commit is the store's commit hook.
func (m *metrics) commit(d time.Duration, writes int) {
	m.commitDuration.Observe(d.Seconds())
	m.commitWrites.Observe(float64(writes))
}

// jobsCollector reports the dispatcher's jobs by state at scrape time, so
// that no code path has to keep a gauge in step with the queue.
type jobsCollector struct{ d func() *dispatcher }

var jobsDesc = prometheus.NewDesc("hookd_jobs", "Jobs not yet final, by state: queued, running, retrying.", []string{"state"}, nil)

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	var queued, running, retrying int
	if d := c.d(); d != nil {
		queued, running, retrying = d.depth()
	}
	ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(queued), "queued")
	ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(running), "running")
	ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(retrying), "retrying")
}

// depth counts the jobs that are not final by state. Queued jobs are on the
// ready list or waiting in a lane, retrying ones are timers; running is the
// rest of the admitted jobs (it includes, for an instant, jobs admitted by
// intake and not yet submitted).
func (d *dispatcher) depth() (queued, running, retrying int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	queued = len(d.ready)
	for _, l := range d.lanes {
		queued += len(l.waiting)
	}
	retrying = len(d.timers)
	running = d.pending - queued - retrying
	if running < 0 {
		running = 0
	}
	return queued, running, retrying
}
