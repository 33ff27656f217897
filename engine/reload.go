package engine

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"hookd/rules"
)

// Reload reads hookd.yaml and the rules directory again and swaps the new
// configuration in if, and only if, all of it is valid. Reloads (SIGHUP and
// the watcher) are serialized.
func (e *Engine) Reload() (err error) {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	defer e.watch.refresh() // the ${file:} references may have changed
	if e.opts.BeforeReload != nil {
		after := e.opts.BeforeReload()
		defer func() { after(err) }()
	}
	cfg, err := e.reloadConfig()
	if err != nil {
		e.reloadFailed(err)
		return err
	}
	set, err := rules.Load(e.cfg.RulesDir, cfg.Rules, e.opts.Lookup)
	if err != nil {
		if set != nil {
			e.logWarnings(set) // an error must not hide them
		}
		e.reloadFailed(err)
		return err
	}
	if n := len(e.Rules().Sources); n > 0 && len(set.Sources) == 0 {
		// A rules file removed for a moment (git checkout, rsync --delete)
		// must not turn every webhook into a 404 and cancel queued jobs.
		err = rules.Errors{NoSourcesLeft(e.cfg.RulesDir, n)}
		e.reloadFailed(err)
		return err
	}
	e.logWarnings(set)
	lv := e.makeLive(set)
	lv.cfg = cfg
	e.live.Store(lv)
	if e.disp.shared != nil {
		e.disp.shared.st.SetMaxQueued(cfg.MaxQueued)
	}
	if e.opts.LogLevel != nil {
		e.opts.LogLevel.Set(logLevel(cfg.LogLevel))
	}
	e.markReload(true)
	e.met.loaded(set, nil)
	e.log.Info("reloaded", "sources", len(set.Sources), "rules", len(set.Rules), "files", len(set.Files))
	e.disp.poke()
	return nil
}

// NoSourcesLeft is why a reload to no source is refused: inForce sources
// keep serving (0: not known, as in hookd check -reload).
func NoSourcesLeft(rulesDir string, inForce int) rules.Diag {
	n := "the sources"
	if inForce > 0 {
		n = fmt.Sprintf("the %d sources", inForce)
	}
	return rules.Diag{File: rulesDir, Msg: "no sources left: reload refused, " + n + " in force keep serving " +
		"(restore the rules files, or restart hookd to run with none)"}
}

func (e *Engine) reloadFailed(err error) {
	e.markReload(false)
	msgs := reloadErrText(err)
	e.reloadErrs.Store(&msgs)
	e.met.loaded(nil, err)
	var errs rules.Errors
	if errors.As(err, &errs) {
		for _, d := range errs {
			e.log.Error("reload failed; the running configuration stays in force", "error", d.String())
		}
		return
	}
	e.log.Error("reload failed; the running configuration stays in force", "error", err)
}

func (e *Engine) markReload(ok bool) {
	if ok {
		e.reloadErrs.Store(nil)
	}
	e.reloadOK.Store(ok)
	e.reloadAt.Store(time.Now().UnixNano())
}

// LastReload reports whether the last load of the configuration (at start,
// by SIGHUP or by the watcher) succeeded, and when it happened.
func (e *Engine) LastReload() (ok bool, at time.Time) {
	return e.reloadOK.Load(), time.Unix(0, e.reloadAt.Load())
}

// Config returns the settings in force: those of the last good reload for
// the settings that change live, those of the start for the others.
func (e *Engine) Config() rules.Config { return e.live.Load().cfg }

// reloadConfig reads hookd.yaml again. Settings that cannot change while
// running keep the value they started with, and a change to one of them is
// logged as needing a restart.
func (e *Engine) reloadConfig() (rules.Config, error) {
	var next rules.Config
	var err error
	switch {
	case e.opts.ReloadConfig != nil:
		next, err = e.opts.ReloadConfig()
	case e.cfg.File != "":
		next, err = rules.LoadConfig(e.cfg.File, e.opts.Lookup)
	default:
		return e.Config(), nil
	}
	if err != nil {
		return rules.Config{}, err
	}
	old := e.cfg
	prev := old
	if e.readCfg != nil {
		prev = *e.readCfg
	}
	e.readCfg = &next
	// Said once per change: a setting that differs from its running value
	// and from the hookd.yaml read before, not at every reload after.
	var changed []string
	again := restartSettings(next, prev)
	for _, name := range restartSettings(next, old) {
		if slices.Contains(again, name) {
			changed = append(changed, name)
		}
	}
	if len(changed) > 0 {
		e.log.Warn("hookd.yaml changed settings that need a restart; they keep their running values until then",
			"settings", changed)
	}
	cfg := old
	cfg.File = next.File
	cfg.LogLevel = next.LogLevel
	cfg.Rules = next.Rules
	cfg.MaxBody = next.MaxBody
	cfg.MaxQueued = next.MaxQueued
	cfg.RuleGrace = next.RuleGrace
	cfg.TrustedProxies = slices.Clone(next.TrustedProxies)
	cfg.Retention = next.Retention
	cfg.FailedRetention = next.FailedRetention
	cfg.ShutdownTimeout = next.ShutdownTimeout
	return cfg, nil
}

// restartSettings names the settings that need a restart whose values
// differ between next and old.
func restartSettings(next, old rules.Config) []string {
	var changed []string
	note := func(name string, differs bool) {
		if differs {
			changed = append(changed, name)
		}
	}
	note("listen", next.Listen != old.Listen)
	note("ops.listen", next.OpsListen != old.OpsListen)
	note("rules_dir", next.RulesDir != old.RulesDir)
	note("data_dir", next.DataDir != old.DataDir)
	note("admin", next.Admin != old.Admin)
	note("tls", next.TLSCert != old.TLSCert || next.TLSKey != old.TLSKey)
	note("workers", next.Workers != old.Workers)
	note("log.format", next.LogFormat != old.LogFormat)
	note("node", next.NodeName() != old.NodeName())
	// Only the name: the URL may hold a password.
	note("store", next.Store != old.Store)
	note("ui", next.UI.Listen != old.UI.Listen || !maps.EqualFunc(next.UI.Users, old.UI.Users, bytes.Equal) ||
		!slices.Equal(next.UI.Hosts, old.UI.Hosts))
	return changed
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}
