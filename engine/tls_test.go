package engine

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/internal/logbuf"
	"hookd/rules"
)

// selfSigned writes a certificate for 127.0.0.1 with the given serial and
// its key, and returns the certificate.
func selfSigned(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "hookd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestTLSServesAndReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := selfSigned(t, certFile, keyFile, 1)
	rd := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := rules.DefaultConfig()
	cfg.Listen, cfg.RulesDir, cfg.DataDir = "127.0.0.1:0", rd, filepath.Join(dir, "data")
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	logs := &logbuf.Buffer{}
	// Check the files at every handshake, so the test needs no waiting.
	e, err := New(Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, nil)), CertCheckInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})

	roots := x509.NewCertPool()
	roots.AddCert(first)
	get := func(roots *x509.CertPool, maxVersion uint16) (*x509.Certificate, error) {
		// A fresh connection each time: a new handshake.
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: maxVersion}}}
		resp, err := c.Get("https://" + e.Addr() + "/healthz")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("healthz over TLS: %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0], nil
	}
	got, err := get(roots, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.SerialNumber.Int64() != 1 {
		t.Fatalf("serial %v", got.SerialNumber)
	}
	if _, err := get(roots, tls.VersionTLS11); err == nil {
		t.Fatal("TLS 1.1 was accepted")
	}

	// Renewal: the files are replaced while hookd runs. The modification
	// time is set apart explicitly, whatever the file system's resolution.
	second := selfSigned(t, certFile, keyFile, 2)
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(certFile, later, later); err != nil {
		t.Fatal(err)
	}
	roots.AddCert(second)
	got, err = get(roots, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.SerialNumber.Int64() != 2 {
		t.Fatalf("after renewal the server still presents serial %v", got.SerialNumber)
	}

	// A broken pair (key of another certificate) is not loaded: the last
	// good certificate stays in service.
	other := filepath.Join(dir, "other.pem")
	selfSigned(t, other, keyFile, 3)
	if err := os.Chtimes(certFile, later.Add(time.Minute), later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err = get(roots, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.SerialNumber.Int64() != 2 {
		t.Fatalf("with a mismatched key the server presents serial %v", got.SerialNumber)
	}
	if !strings.Contains(logs.String(), "cannot be loaded") {
		t.Fatal("the failed reload was not logged")
	}
}
