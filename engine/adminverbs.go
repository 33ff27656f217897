package engine

import "net/http"

// adminVerbRoutes adds the operators' verbs to the admin API: run, backup and
// rematch.
func (e *Engine) adminVerbRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /rules/{name}/run", e.adminRun)
	mux.HandleFunc("GET /backup", e.adminBackup)
	mux.HandleFunc("POST /rematch", e.adminRematch)
}
