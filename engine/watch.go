package engine

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounce gathers a burst of file events (an editor's save, a git
// checkout of many files) into one reload.
const debounce = 300 * time.Millisecond

// watcher reloads the engine when the rules directory or hookd.yaml
// changes. It watches directories, never files: editors that rename over a
// file or delete and recreate it would leave a watch on a file dangling.
type watcher struct {
	e        *Engine
	fw       *fsnotify.Watcher
	rulesDir string
	// names maps a watched directory to the entries of it that matter
	// ("" for every entry): the rules directory itself, its parent for the
	// rules directory's own name (a symlinked directory swapped, or the
	// directory removed and made again), and hookd.yaml's directory.
	names map[string]map[string]bool
	done  chan struct{}
	wg    sync.WaitGroup
}

func (e *Engine) startWatch() (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{e: e, fw: fw, rulesDir: filepath.Clean(e.cfg.RulesDir), names: map[string]map[string]bool{}, done: make(chan struct{})}
	w.want(w.rulesDir, "")
	w.want(filepath.Dir(w.rulesDir), filepath.Base(w.rulesDir))
	if e.cfg.File != "" {
		f := filepath.Clean(e.cfg.File)
		w.want(filepath.Dir(f), filepath.Base(f))
	}
	for dir := range w.names {
		if err := fw.Add(dir); err != nil {
			if dir == w.rulesDir {
				fw.Close()
				return nil, err
			}
			e.log.Warn("cannot watch a directory; changes there need SIGHUP", "dir", dir, "error", err)
		}
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

func (w *watcher) want(dir, name string) {
	m := w.names[dir]
	if m == nil {
		m = map[string]bool{}
		w.names[dir] = m
	}
	m[name] = true
}

// relevant reports whether an event can change the configuration.
func (w *watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	dir, name := filepath.Dir(ev.Name), filepath.Base(ev.Name)
	m := w.names[dir]
	if m == nil {
		// The watched directory itself went away or was renamed.
		return filepath.Clean(ev.Name) == w.rulesDir
	}
	if m[name] {
		return true
	}
	if !m[""] {
		// A ConfigMap mounted hookd.yaml is a symlink through ..data.
		return strings.HasPrefix(name, "..")
	}
	// In the rules directory: rule files, and Kubernetes' ..data swap
	// (its files are symlinks through ..data). Editor swap and backup
	// files are not rules.
	if strings.HasPrefix(name, "..") {
		return true
	}
	if strings.HasPrefix(name, ".") {
		return false
	}
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}

func (w *watcher) loop() {
	defer w.wg.Done()
	var timer *time.Timer
	var fire <-chan time.Time
	rewatch := false
	for {
		select {
		case <-w.done:
			if timer != nil {
				timer.Stop()
			}
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if !w.relevant(ev) {
				continue
			}
			if filepath.Clean(ev.Name) == w.rulesDir {
				rewatch = true
			}
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			// An overflow loses events: reload to be sure.
			w.e.log.Warn("watching the configuration", "error", err)
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			if rewatch {
				rewatch = false
				w.rewatch()
			}
			_ = w.e.Reload()
		}
	}
}

// rewatch watches the rules directory again after it was replaced: a
// symlink now pointing elsewhere, or a directory made anew.
func (w *watcher) rewatch() {
	_ = w.fw.Remove(w.rulesDir)
	if _, err := os.Stat(w.rulesDir); err != nil {
		w.e.log.Warn("the rules directory is gone; the running configuration stays in force", "dir", w.rulesDir, "error", err)
		return
	}
	if err := w.fw.Add(w.rulesDir); err != nil {
		w.e.log.Warn("cannot watch the rules directory again; changes need SIGHUP", "dir", w.rulesDir, "error", err)
	}
}

// stop ends the watch; a reload in progress finishes first.
func (w *watcher) stop() {
	if w == nil {
		return
	}
	close(w.done)
	w.fw.Close()
	w.wg.Wait()
}
