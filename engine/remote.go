package engine

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the client's address: the peer's, or, when the peer is a
// trusted proxy, the right-most address of X-Forwarded-For that is not a
// trusted proxy itself (addresses to its left could be forged by the client).
func (e *Engine) clientIP(r *http.Request) string {
	return clientAddr(r, e.live.Load().cfg.TrustedProxies)
}

func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !contains(trusted, peer) {
		return peer.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	var all []string
	for _, h := range hops {
		for _, a := range strings.Split(h, ",") {
			all = append(all, strings.TrimSpace(a))
		}
	}
	client := peer
	for i := len(all) - 1; i >= 0; i-- {
		if all[i] == "" {
			continue // "a, , b" or a trailing comma
		}
		a, err := parseHop(all[i])
		if err != nil {
			// Not an address: stop at the last hop that was one (a trusted
			// proxy), rather than believe anything further left.
			break
		}
		client = a.Unmap()
		if !contains(trusted, client) {
			break
		}
	}
	return client.String()
}

// parseHop reads an X-Forwarded-For entry: an address, or an address with
// a port as some load balancers write it ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr(), nil
}

func allowed(list []netip.Prefix, ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && contains(list, a.Unmap())
}

func contains(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// requestScheme is the scheme the sender called: https on a TLS
// listener, else http; when the peer is a trusted proxy, the first entry
// of its X-Forwarded-Proto (http or https) instead. A client that is not
// a trusted proxy cannot choose it.
func requestScheme(r *http.Request, trusted []netip.Prefix) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	fp := r.Header.Get("X-Forwarded-Proto")
	if fp == "" || len(trusted) == 0 {
		return scheme
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !contains(trusted, peer.Unmap()) {
		return scheme
	}
	first, _, _ := strings.Cut(fp, ",")
	switch p := strings.ToLower(strings.TrimSpace(first)); p {
	case "http", "https":
		return p
	}
	return scheme
}
