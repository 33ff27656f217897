package engine

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// opsRoutes adds /healthz, /readyz and /metrics to mux: on the webhook
// listener by default, on their own when hookd.yaml sets ops.listen.
func (e *Engine) opsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", e.readyz)
	mux.Handle("GET /metrics", e.met.handler())
}

// startOps serves the operations endpoints on ops.listen, when set, so
// that a scraper or a load balancer reaches them on an address the
// webhook port (open to the world behind a proxy) does not expose. An
// address that cannot be bound fails the start.
func (e *Engine) startOps() error {
	if e.cfg.OpsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", e.cfg.OpsListen)
	if err != nil {
		return fmt.Errorf("ops.listen %s: %w", e.cfg.OpsListen, err)
	}
	mux := http.NewServeMux()
	e.opsRoutes(mux)
	e.ops = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	e.opsLn = ln
	go func() { _ = e.ops.Serve(ln) }()
	e.log.Info("operations endpoints listening", "ops_listen", ln.Addr().String())
	return nil
}

// OpsAddr returns the address of the operations listener, "" when the
// webhook listener serves its endpoints.
func (e *Engine) OpsAddr() string {
	if e.opsLn == nil {
		return ""
	}
	return e.opsLn.Addr().String()
}

func (e *Engine) stopOps() {
	if e.ops != nil {
		_ = e.ops.Close()
	}
}
