package engine

import (
	"log/slog"
	"time"

	"hookd/rules"
	"hookd/store"
)

// matched is what matching a delivery's rules gave.
type matched struct {
	jobs     []*store.Job
	pick     answerPick
	evalErrs []string // for the event's record
	condErrs []string // rule, error: logged unless the event is a duplicate
	// mayMatch: the queue is full and a rule may match, so the delivery is
	// refused; jobs are then incomplete.
	mayMatch bool
	// storeErr: no job id could be allocated (a shared store is down).
	storeErr error
}

// logCondErrs logs the failed conditions once the event is recorded, with
// its id (SPEC section 9: every line about an event carries it).
func (m *matched) logCondErrs(log reqLog, eventID uint64) {
	for i := 0; i < len(m.condErrs); i += 2 {
		log.Warn("rule not matched: its condition failed", slog.Uint64("event_id", eventID), slog.String("rule", m.condErrs[i]), slog.String("error", m.condErrs[i+1]))
	}
}

// match runs the source's candidate rules against d and makes a job for
// each that matches, recording them on ev. With the queue full, an event
// that may match a rule is refused before its body is parsed and its rules
// matched (work a 503 does not need); one that no rule can match is still
// recorded as ignored.
func (e *Engine) match(d *delivery, ev *store.Event) (m matched) {
	env := d.env
	full := e.disp.full()
	needBody := d.parse
	if full && !d.parsed {
		needBody = func() { m.mayMatch = true }
	}
	cands := d.src.Candidates(env, needBody)
	if m.mayMatch { // the index needed the body: every rule is a candidate
		m.mayMatch, cands = false, d.src.Rules
	}
	for _, rule := range cands {
		if full && rule.UsesBody && !d.parsed {
			if rule.CannotMatch(env) {
				continue
			}
			m.mayMatch = true
			return
		}
		if rule.UsesBody {
			d.parse()
		}
		ok, err := rule.Match(env)
		if ok && full {
			m.mayMatch = true
			return
		}
		if err != nil {
			msg := e.Redact(err.Error()) // it may quote a value from `${SECRET}`
			m.evalErrs = append(m.evalErrs, "rule "+rule.Name+": when: "+msg)
			m.condErrs = append(m.condErrs, rule.Name, msg)
			continue
		}
		if ok {
			id, err := e.store.NextJobID()
			if err != nil {
				m.storeErr = err
				return
			}
			m.add(rule, env, ev, id, d.received)
		}
	}
	return
}

// add queues a job of rule for ev, in the rule's lane.
func (m *matched) add(rule *rules.Rule, env *rules.Env, ev *store.Event, id uint64, at time.Time) {
	j := &store.Job{ID: id, EventID: ev.ID, Rule: rule.Name, State: store.Queued, Created: at, Updated: at}
	if rule.Concurrency != "parallel" {
		j.Lane, j.Latest = rule.Name, rule.Concurrency == "latest"
		if rule.Key != nil {
			k, err := rules.EvalString(rule.Key, env)
			if err != nil {
				m.evalErrs = append(m.evalErrs, "rule "+rule.Name+": key: "+err.Error())
			}
			j.Lane += "\x00" + k
		}
	}
	m.jobs = append(m.jobs, j)
	m.pick.add(rule, j)
	ev.Rules = append(ev.Rules, rule.Name)
	ev.Jobs = append(ev.Jobs, j.ID)
}
