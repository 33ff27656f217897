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
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	trusted := e.Config().TrustedProxies
	if !allowed(trusted, peer.String()) {
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
		a, err := netip.ParseAddr(all[i])
		if err != nil {
			break
		}
		client = a.Unmap()
		if !allowed(trusted, client.String()) {
			break
		}
	}
	return client.String()
}

func allowed(list []netip.Prefix, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
