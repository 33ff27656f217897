package engine

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// startUI serves the dashboard (Options.UI) on ui.listen, behind basic
// authentication when ui.users is set and cross-origin protection on every
// state-changing request. The default address that cannot be bound (a
// second hookd on the machine) is one warning; an address the user chose
// is a start error.
func (e *Engine) startUI() error {
	addr := e.cfg.UI.Listen
	if addr == "" || e.opts.UI == nil {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if !e.cfg.UI.Configured { // taken by a second hookd, most often: the user asked for nothing
			e.log.Warn("dashboard not started: its default address cannot be bound (set ui.listen in hookd.yaml, or ui.listen: off)",
				"ui_listen", addr, "error", err)
			return nil
		}
		return fmt.Errorf("ui.listen %s: %w", addr, err)
	}
	if e.cfg.TLSCert != "" {
		certs, err := newCertReloader(e.cfg.TLSCert, e.cfg.TLSKey, e.opts.CertCheckInterval, e.log)
		if err != nil {
			ln.Close()
			return err
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get})
	}
	h, err := e.opts.UI(e)
	if err != nil {
		ln.Close()
		return fmt.Errorf("dashboard: %w", err)
	}
	h = http.NewCrossOriginProtection().Handler(h)
	h = newBasicAuth(e.cfg.UI.Users).wrap(h)
	if len(e.cfg.UI.Users) == 0 {
		h = localNamesOnly(h, e.cfg.UI.Hosts)
	}
	// No WriteTimeout: the live stream of events stays open.
	e.ui = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: 1 << 20, ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelDebug)}
	e.uiLn = ln
	go func() { _ = e.ui.Serve(ln) }()
	e.log.Info("dashboard listening", "ui_listen", ln.Addr().String(), "users", len(e.cfg.UI.Users))
	return nil
}

// localNamesOnly answers only requests addressed to this machine by an IP
// address or as localhost, or by one of hosts: without ui.users the
// dashboard listens on loopback only, and a web page whose name an
// attacker makes resolve to 127.0.0.1 (DNS rebinding) would otherwise read
// it and replay events from the operator's own browser, its Origin being
// the same as its Host. Jupyter's server checks Host the same way.
func localNamesOnly(h http.Handler, hosts []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !localName(r.Host) && !slices.Contains(hosts, hostOf(r.Host)) {
			http.Error(w, fmt.Sprintf("421 misdirected request: without ui.users the dashboard answers only to localhost, an IP address or a name of ui.hosts, not %q: "+
				"behind a proxy that asks for its own credentials, add that name to ui.hosts; else set ui.users", r.Host), http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hostOf is a Host header's name: lower case, without port, brackets or
// a final dot.
func hostOf(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
}

// localName reports whether host (a Host header, maybe with a port) is an
// IP address, localhost or a name under .localhost (RFC 6761).
func localName(host string) bool {
	host = hostOf(host)
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// UIAddr returns the dashboard's address, "" when it does not listen.
func (e *Engine) UIAddr() string {
	if e.uiLn == nil {
		return ""
	}
	return e.uiLn.Addr().String()
}

func (e *Engine) stopUI() {
	if e.ui != nil {
		_ = e.ui.Close() // ends the live streams too
	}
}

// basicAuth checks HTTP basic credentials against bcrypt hashes. bcrypt
// costs tens of milliseconds by design, and a page loads several
// resources, so credentials that matched are remembered by their SHA-256
// (never the password itself).
type basicAuth struct {
	users map[string][]byte
	mu    sync.Mutex
	good  map[[32]byte]bool
}

func newBasicAuth(users map[string][]byte) *basicAuth {
	return &basicAuth{users: users, good: map[[32]byte]bool{}}
}

// dummyHash is compared against for unknown users, so that the time
// taken does not tell which user names exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.MinCost)

func (a *basicAuth) ok(user, pass string) bool {
	hash, known := a.users[user]
	key := sha256.Sum256([]byte(user + "\x00" + pass + "\x00" + string(hash)))
	a.mu.Lock()
	hit := a.good[key]
	a.mu.Unlock()
	if hit {
		return true
	}
	if !known {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pass))
		return false
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
		return false
	}
	a.mu.Lock()
	if len(a.good) > 1000 {
		clear(a.good)
	}
	a.good[key] = true
	a.mu.Unlock()
	return true
}

// wrap asks for credentials on every request when users are set.
func (a *basicAuth) wrap(h http.Handler) http.Handler {
	if len(a.users) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || !a.ok(user, pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="hookd", charset="UTF-8"`)
			http.Error(w, "401 unauthorized: sign in with a user of ui.users", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
