package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"hookd/store"
)

// cmdBackup writes a consistent copy of the database to FILE: from the
// running daemon through its admin API, or, when none answers, directly
// from the file opened read-only.
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("backup", stdout, stderr)
	cf := addConfigFlags(fs, withData).withAdmin()
	file, code, ok := parseWithArg(fs, "backup", "backup file: hookd backup FILE", args, stderr)
	if !ok {
		return code
	}
	cfg, err := cf.load()
	if err != nil {
		printErr(stderr, "backup", err)
		return 1
	}
	if cfg.Store.Shared() {
		fmt.Fprintln(stderr, "hookd backup: the store is PostgreSQL (store.driver: postgres): back it up with pg_dump "+
			"(or continuous archiving), as any PostgreSQL database; hookd backup copies a bbolt store")
		return 1
	}
	if msg := backupTargetErr(file, cfg.DataDir); msg != "" {
		fmt.Fprintf(stderr, "hookd backup: %s: %s\n", file, msg)
		return 1
	}
	p := newProgress(stderr)
	how := "online, from the running daemon"
	err = store.WriteAtomic(file, func(w io.Writer) error {
		err := backupOnline(ctx, newAdminClient(cfg.AdminPath()), p.writer(w))
		var notRunning errNoDaemon
		if errors.As(err, &notRunning) {
			how = "daemon stopped, copied directly"
			_, err = store.BackupOffline(cfg.DataDir, p.writer(w), p.setSize)
			err = offlineSourceErr(err, notRunning, cfg.DataDir)
		}
		return err
	}, func(tmp string) error { return store.CheckCopy(tmp, filepath.Join(cfg.DataDir, "hookd.db")) })
	p.end()
	if errors.Is(err, store.ErrDamaged) {
		fmt.Fprintf(stderr, "hookd backup: no backup written to %s: %v\n", file, err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "hookd backup: %v\n", backupErr(err, file))
		return 1
	}
	fmt.Fprintf(stdout, "backup written to %s: %d bytes (%s)\n", file, p.done(), how)
	return 0
}

// backupTargetErr says what is wrong with FILE as a backup's name before
// the copy starts, "" when nothing is. The database itself, or its start
// log, would be replaced by the copy: a running daemon would go on writing
// to the file it has open, which is no longer there, and lose everything
// it acknowledged after.
func backupTargetErr(file, dataDir string) string {
	fi, err := os.Stat(file)
	if err == nil && fi.IsDir() {
		return "is a directory: give the backup's file name, such as " + filepath.Join(file, "hookd.db")
	}
	for _, name := range []string{"hookd.db", "hookd.starts", "hookd.ids"} {
		if live, lerr := os.Stat(filepath.Join(dataDir, name)); err == nil && lerr == nil && os.SameFile(fi, live) {
			return "is the database's own " + name + " in " + dataDir + ": write the backup somewhere else, such as /var/backups/hookd/hookd.db"
		}
	}
	dir := filepath.Dir(file)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "the directory " + dir + " does not exist: create it first"
	}
	return ""
}

// sourceErr is a backup's error about the database it copies, said
// before (and without) the file it writes.
type sourceErr struct{ err error }

func (e sourceErr) Error() string { return e.err.Error() }
func (e sourceErr) Unwrap() error { return e.err }

// offlineSourceErr says why the database of a stopped daemon cannot be
// copied, as events and show say it.
func offlineSourceErr(err error, notRunning errNoDaemon, dataDir string) error {
	db := filepath.Join(dataDir, "hookd.db")
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrInUse):
		return sourceErr{fmt.Errorf("%w, but its admin API at %s does not answer", err, notRunning.addr)}
	case errors.Is(err, fs.ErrNotExist):
		return sourceErr{fmt.Errorf("%v, and there is no database at %s: pass the -config (or -data) the daemon uses", notRunning, db)}
	case errors.Is(err, fs.ErrPermission):
		return sourceErr{fmt.Errorf("permission denied reading %s: %s", db, asDaemonUser)}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == db {
		return sourceErr{err} // reading the database, not writing FILE
	}
	return err
}

// backupErr is the line a failed backup prints: the database's trouble
// alone, or what went wrong writing file.
func backupErr(err error, file string) error {
	var se sourceErr
	if errors.As(err, &se) {
		return se
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == file {
		return fmt.Errorf("cannot write %s: %v", file, withUser(pe.Err, "write the backup where that user may"))
	}
	return fmt.Errorf("writing %s: %w", file, err)
}

// errNoDaemon says that no daemon answers at addr.
type errNoDaemon struct{ addr string }

func (e errNoDaemon) Error() string { return "no hookd answers at " + e.addr }

// backupOnline streams GET /backup into w.
func backupOnline(ctx context.Context, c *adminClient, w *progressWriter) error {
	req, err := http.NewRequestWithContext(ctx, "GET", adminURL+"/backup", nil)
	if err != nil {
		return err
	}
	// No overall timeout: a large database takes its time.
	resp, err := (&http.Client{Transport: c.hc.Transport}).Do(req)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			if derr := dialError(c.addr, err); !errors.Is(derr, errNotRunning) {
				return sourceErr{derr} // permission denied on the socket, ...
			}
			return errNoDaemon{c.addr}
		}
		return fmt.Errorf("talking to hookd at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("hookd answered %s", resp.Status)
	}
	w.p.setSize(resp.ContentLength)
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("copy cut short after %d bytes: %w", n, err)
	}
	return nil
}

// progress prints how many bytes are copied, at most once a second: on one
// line rewritten in place on a terminal, else a line each time.
type progress struct {
	out   io.Writer
	tty   bool
	mu    sync.Mutex
	n     int64
	size  int64
	last  time.Time
	shown bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{out: w, size: -1, last: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) setSize(n int64) { p.mu.Lock(); p.size = n; p.mu.Unlock() }

func (p *progress) done() int64 { p.mu.Lock(); defer p.mu.Unlock(); return p.n }

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if time.Since(p.last) >= time.Second {
		p.last = time.Now()
		p.show()
	}
}

func (p *progress) show() {
	line := "backup: " + strconv.FormatInt(p.n, 10) + " bytes"
	if p.size >= 0 {
		line += " of " + strconv.FormatInt(p.size, 10)
	}
	if p.tty {
		fmt.Fprint(p.out, "\r"+line+"  ")
	} else {
		fmt.Fprintln(p.out, line)
	}
	p.shown = true
}

// end finishes the progress line, if one was shown.
func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown && p.tty {
		fmt.Fprintln(p.out)
	}
}

func (p *progress) writer(w io.Writer) *progressWriter { return &progressWriter{w: w, p: p} }

type progressWriter struct {
	w io.Writer
	p *progress
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.add(n)
	return n, err
}
