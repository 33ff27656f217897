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
	rulesDir string // as configured: read through it
	// rulesLink is the rules directory's entry in its parent, and
	// rulesReal the directory it is now (canonDir): a rules directory
	// that is a symlink swapped elsewhere changes rulesReal only.
	rulesLink string
	mu        sync.Mutex // guards names, watched and rulesReal: a reload refreshes them
	rulesReal string
	// names maps a watched directory, by its canonDir name, to the
	// entries of it that matter ("" for every entry): the rules directory
	// itself, its parent for the rules directory's own name (a symlinked
	// directory swapped, or the directory removed and made again),
	// hookd.yaml's directory, the directories of the files ${file:PATH}
	// references read, and for each of these files that is a symlink the
	// directories of its targets (a rules file linked from elsewhere).
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
	rd := filepath.Clean(e.cfg.RulesDir)
	w := &watcher{e: e, fw: fw, rulesDir: rd, misnamed: map[string]bool{}, watched: map[string]bool{}, done: make(chan struct{})}
	w.rulesLink = filepath.Join(canonDir(filepath.Dir(rd)), filepath.Base(rd))
	w.rulesReal = canonDir(rd)
	w.names = w.wanted()
	if entries, err := os.ReadDir(w.rulesDir); err == nil {
		for _, ent := range entries {
			if rules.IsMisnamed(ent.Name()) {
				w.misnamed[filepath.Join(w.rulesReal, ent.Name())] = true // the load at start warned
			}
		}
	}
	if err := fw.Add(w.rulesReal); err != nil {
		fw.Close()
		return nil, err
	}
	w.watched[w.rulesReal] = true
	w.addWatches()
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// canonDir is the one name of a directory: absolute, cleaned, its
// symlinks resolved (as far as it exists). inotify gives a directory one
// watch, named by the first spelling added, and reports every event under
// that name: two spellings of one directory (../secrets and
// /srv/secrets, or a symlink to it) must be one key, or the events of all
// but one are dropped.
func canonDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// wanted is the names map for the files on disk now: the ${file:PATH}
// references are read from hookd.yaml and every rules file, loadable or
// not, so that fixing a secret's permissions reloads a failed load.
func (w *watcher) wanted() map[string]map[string]bool {
	names := map[string]map[string]bool{}
	add := func(dir, name string) {
		if names[dir] == nil {
			names[dir] = map[string]bool{}
		}
		names[dir][name] = true
	}
	// want adds the file p and, while it is a symlink, each target: an
	// edit of the file it links to is made in the target's directory.
	want := func(p string) {
		for hop := 0; hop < 40; hop++ {
			dir, name := canonDir(filepath.Dir(p)), filepath.Base(p)
			add(dir, name)
			target, err := os.Readlink(filepath.Join(dir, name))
			if err != nil {
				return
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(dir, target)
			}
			p = target
		}
	}
	add(canonDir(w.rulesDir), "")
	add(filepath.Dir(w.rulesLink), filepath.Base(w.rulesLink))
	files := []string{}
	if w.e.cfg.File != "" {
		f := filepath.Clean(w.e.cfg.File)
		want(f)
		files = append(files, f)
	}
	entries, _ := os.ReadDir(w.rulesDir)
	for _, ent := range entries {
		name := ent.Name()
		if ext := filepath.Ext(name); !strings.HasPrefix(name, ".") && (ext == ".yaml" || ext == ".yml") {
			f := filepath.Join(w.rulesDir, name)
			if ent.Type()&os.ModeSymlink != 0 {
				want(f)
			}
			files = append(files, f)
		}
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, p := range rules.FileRefs(f, src) {
			want(p)
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
	// Directories no longer wanted (a secret moved, a ..2026_01_01
	// release gone) are watched no more.
	for dir := range w.watched {
		if names[dir] == nil && dir != w.rulesReal {
			_ = w.fw.Remove(dir)
			delete(w.watched, dir)
		}
	}
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
	real := w.rulesReal
	w.mu.Unlock()
	if m == nil {
		// The watched directory itself went away or was renamed.
		return filepath.Clean(ev.Name) == real
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
			if w.isRulesDir(ev.Name) {
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
	w.mu.Lock()
	real := w.rulesReal
	w.mu.Unlock()
	if filepath.Dir(name) != real || !rules.IsMisnamed(filepath.Base(name)) {
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

// isRulesDir reports whether the event is about the rules directory
// itself: its entry in its parent, or the directory watched.
func (w *watcher) isRulesDir(name string) bool {
	name = filepath.Clean(name)
	w.mu.Lock()
	defer w.mu.Unlock()
	return name == w.rulesLink || name == w.rulesReal
}

// rewatch watches the rules directory again after it was replaced: a
// symlink now pointing elsewhere, or a directory made anew.
func (w *watcher) rewatch() {
	// Directories of secrets inside the old rules directory are watched
	// again, in the new one, by the refresh after the reload.
	w.mu.Lock()
	old := w.rulesReal
	for dir := range w.watched {
		if dir == old || strings.HasPrefix(dir, old+string(filepath.Separator)) {
			_ = w.fw.Remove(dir)
			delete(w.watched, dir)
		}
	}
	w.mu.Unlock()
	if _, err := os.Stat(w.rulesDir); err != nil {
		w.e.log.Warn("the rules directory is gone; the running configuration stays in force", "dir", w.rulesDir, "error", err)
		return
	}
	real := canonDir(w.rulesDir)
	if err := w.fw.Add(real); err != nil {
		w.e.log.Warn("cannot watch the rules directory again; changes need SIGHUP", "dir", w.rulesDir, "error", err)
	}
	w.mu.Lock()
	w.rulesReal = real
	w.watched[real] = true
	w.mu.Unlock()
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
