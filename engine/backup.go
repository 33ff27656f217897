package engine

import (
	"net/http"
	"strconv"
	"time"

	"hookd/store"
)

// adminBackup is GET /backup: a consistent copy of the database, streamed
// from one read transaction while intake goes on. Its length is announced,
// so a copy cut short is seen as such by the client.
func (e *Engine) adminBackup(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	started := false
	b, ok := e.store.(store.Backuper)
	if !ok {
		errorJSON(w, http.StatusNotImplemented, "the store is PostgreSQL: back it up with pg_dump (or continuous archiving); hookd backup copies a bbolt store")
		return
	}
	n, err := b.Backup(w, func(size int64) {
		started = true
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
	})
	if err != nil {
		e.log.Error("backup failed", "bytes", n, "error", err)
		if !started {
			errorJSON(w, http.StatusInternalServerError, "backup failed: "+err.Error())
		}
		return
	}
	e.log.Info("backup taken", "bytes", n, "duration", time.Since(start).Round(time.Millisecond).String())
}
