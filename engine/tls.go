package engine

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate files, reading them again when their
// modification time changes (a renewed certificate needs no restart).
type certReloader struct {
	certFile, keyFile string
	// every bounds how often the files are stat'ed: handshakes can be many.
	every   time.Duration
	log     *slog.Logger
	mu      sync.Mutex
	cert    *tls.Certificate
	mod     time.Time
	checked time.Time
}

func newCertReloader(certFile, keyFile string, every time.Duration, log *slog.Logger) (*certReloader, error) {
	if every <= 0 {
		every = 10 * time.Second
	}
	c := &certReloader{certFile: certFile, keyFile: keyFile, every: every, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	c.checked = time.Now()
	return c, nil
}

func (c *certReloader) load() error {
	st, err := os.Stat(c.certFile)
	if err != nil {
		return fmt.Errorf("tls.cert: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	c.cert, c.mod = &cert, st.ModTime()
	return nil
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) >= c.every {
		c.checked = time.Now()
		if st, err := os.Stat(c.certFile); err == nil && !st.ModTime().Equal(c.mod) {
			// A half-written pair fails to load: keep serving the old one,
			// and since mod is unchanged, try again at the next check.
			if err := c.load(); err != nil {
				c.log.Warn("tls certificate changed but cannot be loaded; still serving the previous one", "error", err)
			} else {
				c.log.Info("tls certificate reloaded", "cert", c.certFile)
			}
		}
	}
	return c.cert, nil
}
