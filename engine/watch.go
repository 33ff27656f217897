package engine

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"hookd/rules"
)

// debounce gathers a burst of file events (an editor's save, a git
// checkout of many files) into one reload.
const debounce = 300 * time.Millisecond

// watcher reloads the engine when the rules directory, hookd.yaml or a
// file a ${file:PATH} reference reads changes: written, replaced, or its
// attributes changed (touch, chmod). It watches directories, never files:
// editors that rename over a file or delete and recreate it, and the
// symlink swaps of Kubernetes and systemd, would leave a watch on a file
// dangling. Reading a file makes no event, so its own reads never reload.
type watcher struct {
	e        *Engine
	fw       *fsnotify.Watcher
	rulesDir string
	mu       sync.Mutex // guards names and watched: a reload refreshes them
	// names maps a watched directory to the entries of it that matter
	// ("" for every entry): the rules directory itself, its parent for the
	// rules directory's own name (a symlinked directory swapped, or the
	// directory removed and made again), hookd.yaml's directory, and the
	// directories of the files ${file:PATH} references read.
	names   map[string]map[string]bool
	watched map[string]bool // directories added to fw
	// misnamed are the nearly-rule files (deploy.YAML) warned about, once
	// each until they go.
	misnamed map[string]bool
	done     chan struct{}
	wg       sync.WaitGroup
}

func (e *Engine) startWatch() (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{e: e, fw: fw, rulesDir: filepath.Clean(e.cfg.RulesDir), misnamed: map[string]bool{}, watched: map[string]bool{}, done: make(chan struct{})}
	w.names = w.wanted()
	if entries, err := os.ReadDir(w.rulesDir); err == nil {
		for _, ent := range entries {
			if rules.IsMisnamed(ent.Name()) {
				w.misnamed[filepath.Join(w.rulesDir, ent.Name())] = true // the load at start warned
			}
		}
	}
	if err := fw.Add(w.rulesDir); err != nil {
		fw.Close()
		return nil, err
	}
	w.watched[w.rulesDir] = true
	w.addWatches()
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// wanted is the names map for the files on disk now: the ${file:PATH}
// references are read from hookd.yaml and every rules file, loadable or
// not, so that fixing a secret's permissions reloads a failed load.
func (w *watcher) wanted() map[string]map[string]bool {
	names := map[string]map[string]bool{}
	want := func(dir, name string) {
		if names[dir] == nil {
			names[dir] = map[string]bool{}
		}
		names[dir][name] = true
	}
	want(w.rulesDir, "")
	want(filepath.Dir(w.rulesDir), filepath.Base(w.rulesDir))
	files := []string{}
	if w.e.cfg.File != "" {
		f := filepath.Clean(w.e.cfg.File)
		want(filepath.Dir(f), filepath.Base(f))
		files = append(files, f)
	}
	entries, _ := os.ReadDir(w.rulesDir)
	for _, ent := range entries {
		name := ent.Name()
		if ext := filepath.Ext(name); !strings.HasPrefix(name, ".") && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(w.rulesDir, name))
		}
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, p := range rules.FileRefs(f, src) {
			want(filepath.Dir(p), filepath.Base(p))
		}
	}
	return names
}

// addWatches watches the directories of names not watched yet.
func (w *watcher) addWatches() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for dir := range w.names {
		if w.watched[dir] {
			continue
		}
		w.watched[dir] = true // tried once: a failure is said once
		if err := w.fw.Add(dir); err != nil {
			w.e.log.Warn("cannot watch a directory; changes there need SIGHUP", "dir", dir, "error", err)
		}
	}
}

// refresh follows the ${file:PATH} references of the files as they are
// now; a reload, by the watcher or by SIGHUP, calls it.
func (w *watcher) refresh() {
	if w == nil {
		return
	}
	names := w.wanted()
	w.mu.Lock()
	w.names = names
	w.mu.Unlock()
	w.addWatches()
}

// relevant reports whether an event can change the configuration.
// A change of attributes counts: `touch` is how an operator asks for a
// reload, and a secret's permissions fixed make it readable.
func (w *watcher) relevant(ev fsnotify.Event) bool {
	dir, name := filepath.Dir(ev.Name), filepath.Base(ev.Name)
	w.mu.Lock()
	m := w.names[dir]
	w.mu.Unlock()
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
			w.warnMisnamed(ev)
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

// warnMisnamed warns, once, when a file that is only nearly a rule file
// (deploy.YAML) appears in the rules directory: it is not loaded, and
// nothing else would say so until the next reload.
func (w *watcher) warnMisnamed(ev fsnotify.Event) {
	name := filepath.Clean(ev.Name)
	if filepath.Dir(name) != w.rulesDir || !rules.IsMisnamed(filepath.Base(name)) {
		return
	}
	if _, err := os.Lstat(name); err != nil {
		delete(w.misnamed, name)
		return
	}
	if !w.misnamed[name] {
		w.misnamed[name] = true
		w.e.log.Warn(rules.Misnamed, "at", name)
	}
}

// rewatch watches the rules directory again after it was replaced: a
// symlink now pointing elsewhere, or a directory made anew.
func (w *watcher) rewatch() {
	_ = w.fw.Remove(w.rulesDir)
	// Directories of secrets inside the old rules directory are watched
	// again, in the new one, by the refresh after the reload.
	w.mu.Lock()
	for dir := range w.watched {
		if strings.HasPrefix(dir, w.rulesDir+string(filepath.Separator)) {
			_ = w.fw.Remove(dir)
			delete(w.watched, dir)
		}
	}
	w.mu.Unlock()
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
