package cli

import (
	"fmt"
	"log/slog"
	"net"
	"strings"

	"hookd/rules"
	"hookd/sdnotify"
)

// inheritedListener returns the listening socket systemd passed (socket
// activation: hookd.socket), or nil when none was. It stays open across
// restarts, so connections wait in the kernel's backlog meanwhile. With
// several sockets, the one named "http" (FileDescriptorName=http) is used.
// `listen` is then not bound; a socket at another address is said, since
// the config then names an address hookd does not listen on.
func inheritedListener(cfg rules.Config, log *slog.Logger) (net.Listener, error) {
	socks, err := sdnotify.Sockets()
	if err != nil || len(socks) == 0 {
		return nil, err
	}
	pick := 0
	if len(socks) > 1 {
		pick = -1
		var names []string
		for i, s := range socks {
			names = append(names, s.Name)
			if s.Name == "http" {
				pick = i
			}
		}
		if pick < 0 {
			closeSockets(socks)
			return nil, fmt.Errorf("systemd passed %d sockets (%s): name the webhook one http (FileDescriptorName=http)", len(socks), strings.Join(names, ", "))
		}
	}
	for i, s := range socks {
		if i != pick {
			log.Warn("socket passed by systemd not used", "name", s.Name)
		}
	}
	s := socks[pick]
	ln, err := net.FileListener(s.File)
	closeSockets(socks) // FileListener has its own descriptor
	if err != nil {
		return nil, fmt.Errorf("socket %s passed by systemd: not a listening stream socket: %w", s.Name, err)
	}
	addr := ln.Addr().String()
	if sameAddr(cfg.Listen, ln.Addr()) {
		log.Info("listening on the socket passed by systemd", "socket", s.Name, "addr", addr)
	} else {
		log.Warn("listen in the configuration is not bound: the socket passed by systemd is used instead",
			"listen", cfg.Listen, "socket", s.Name, "addr", addr)
	}
	return ln, nil
}

func closeSockets(socks []sdnotify.Socket) {
	for _, s := range socks {
		s.File.Close()
	}
}

// sameAddr reports whether listen (host:port) names the address a.
func sameAddr(listen string, a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return listen == a.String()
	}
	want, err := net.ResolveTCPAddr("tcp", listen)
	if err != nil || want.Port != ta.Port {
		return false
	}
	if len(want.IP) == 0 || want.IP.IsUnspecified() {
		return ta.IP.IsUnspecified()
	}
	return want.IP.Equal(ta.IP)
}
