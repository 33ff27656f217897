package rules

import (
	"net"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// DefaultUIListen is where the dashboard listens when hookd.yaml says
// nothing: this machine only.
const DefaultUIListen = "127.0.0.1:9001"

// UI is the dashboard's block of hookd.yaml (ui:).
type UI struct {
	// Listen is host:port, or "" when the dashboard is off (listen: off).
	Listen string
	// Configured tells that listen was written in hookd.yaml: an address
	// the user chose that cannot be bound is an error; the default taken
	// by another daemon is only a warning.
	Configured bool
	// Users maps a user name to its bcrypt hash (hookd hash-password), as
	// Prometheus' web configuration does with basic_auth_users. Empty: no
	// authentication, allowed on loopback only.
	Users map[string][]byte
	// Hosts are the names, besides IP addresses and localhost, that the
	// dashboard without users answers to (a proxy in front that asks for
	// its own credentials); lower case, no port.
	Hosts []string
}

// Loopback reports whether host:port can be reached from this machine only:
// its host is localhost or a loopback IP. An empty host is every interface.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ui reads the ui block: listen and users.
func (d *decoder) ui(n *yaml.Node, c *Config) {
	if r := resolve(n); r.Kind == yaml.ScalarNode && (r.Value == "off" || r.Value == "false") {
		d.errf(r, "ui must be a mapping, not %q: write ui: {listen: off} to turn the dashboard off", r.Value)
		return
	}
	var listenNode *yaml.Node
	d.fields(n, "ui", map[string]func(k, v *yaml.Node){
		"listen": func(k, v *yaml.Node) {
			c.UI.Configured = true
			if r := resolve(v); r.Kind == yaml.ScalarNode && r.Value == "off" {
				c.UI.Listen = ""
				return
			}
			var ok bool
			if c.UI.Listen, ok = d.addr(v, "ui.listen", "such as 127.0.0.1:9001, or off"); ok {
				listenNode = v
			}
		},
		"users": func(k, v *yaml.Node) { c.UI.Users = d.users(v) },
		"hosts": func(k, v *yaml.Node) { c.UI.Hosts = d.hosts(v) },
	})
	if c.UI.Listen != "" && len(c.UI.Users) == 0 && listenNode != nil && !Loopback(c.UI.Listen) {
		d.errf(listenNode, "ui.listen %s is reachable beyond this machine: set ui.users (make a hash with hookd hash-password), or listen on 127.0.0.1", c.UI.Listen)
	}
}

// hosts reads ui.hosts: host names as a browser sends them in Host, without
// the port.
func (d *decoder) hosts(n *yaml.Node) []string {
	var out []string
	for _, v := range d.strsNodes(n, "ui.hosts") {
		h := strings.ToLower(strings.TrimSuffix(v.Value, "."))
		if h == "" || strings.ContainsAny(h, ":/ \t[]@") {
			d.errf(v, "ui.hosts: %q is not a host name: write the name alone, such as hookd-admin.example.com (no scheme, port or path)", v.Value)
			continue
		}
		out = append(out, h)
	}
	return out
}

// users reads ui.users: user name to bcrypt hash.
func (d *decoder) users(n *yaml.Node) map[string][]byte {
	m, nodes := d.strMap(n, "ui.users")
	out := make(map[string][]byte, len(m))
	for name, hash := range m {
		if name == "" || strings.ContainsAny(name, ":") {
			d.errf(nodes[name], "ui.users: a user name must not be empty or hold ':'")
			continue
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			d.errf(nodes[name], "ui.users.%s must be a bcrypt hash (make one with hookd hash-password): %v", name, err)
			continue
		}
		out[name] = []byte(hash)
	}
	return out
}

// AdminReachableErr is the message for an admin API on TCP beyond this
// machine: it has no authentication, so it listens on loopback only.
func AdminReachableErr(addr string) string {
	return "admin " + addr + " is reachable beyond this machine, and the admin API has no authentication: use a unix socket path or a loopback address such as 127.0.0.1:9002"
}

// AdminTCP tells whether an admin address is host:port (a ':' and no
// '/') rather than a unix socket path.
func AdminTCP(addr string) bool {
	return strings.Contains(addr, ":") && !strings.Contains(addr, "/")
}
