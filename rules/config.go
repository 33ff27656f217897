package rules

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is hookd.yaml: the daemon's settings (SPEC section 2).
type Config struct {
	File      string // the file read, "" when none
	Listen    string
	OpsListen string // ops.listen: /metrics, /healthz, /readyz apart ("": on Listen)
	RulesDir  string
	DataDir   string
	Admin     string // unix socket path, or host:port
	Workers   int
	MaxBody   int64
	Retention time.Duration
	// FailedRetention is how long a failed event is kept (0: until it is
	// replayed with success, then by Retention).
	FailedRetention time.Duration
	LogFormat       string // text or json
	LogLevel        string // debug, info, warn, error
	TrustedProxies  []netip.Prefix
	TLSCert, TLSKey string
	ShutdownTimeout time.Duration
	MaxQueued       int // queued jobs past which intake answers 503
	RuleGrace       time.Duration
	Rules           Defaults
	UI              UI // the dashboard (ui:)
	// Node names this node in logs, metrics and the dashboard ("": the
	// hostname; see NodeName).
	Node  string
	Store Store // where events and jobs are kept (store:)
	// Secrets holds the values hookd.yaml read with ${file:...} or
	// ${credential:...}, kept out of its messages.
	Secrets []string
}

// DefaultConfig is what hookd runs with when hookd.yaml says nothing.
func DefaultConfig() Config {
	c := Config{
		Listen:          "127.0.0.1:9000",
		RulesDir:        "rules.d",
		DataDir:         "data",
		Workers:         4,
		MaxBody:         10 << 20,
		Retention:       720 * time.Hour,
		LogFormat:       "text",
		LogLevel:        "info",
		ShutdownTimeout: 30 * time.Second,
		MaxQueued:       10000,
		RuleGrace:       5 * time.Minute, // a git pull or an rsync --delete removes a rules file for a moment
		Rules:           DefaultRuleDefaults,
		UI:              UI{Listen: DefaultUIListen},
		Store:           DefaultStore,
	}
	c.Rules.Retention = c.Retention
	return c
}

// AdminPath is where the admin API listens.
func (c *Config) AdminPath() string {
	if c.Admin != "" {
		return c.Admin
	}
	return filepath.Join(c.DataDir, "admin.sock")
}

// LoadConfig reads hookd.yaml over the defaults. Relative paths in it are
// relative to the file's directory. An empty path returns the defaults.
func LoadConfig(path string, lookup func(string) (string, bool)) (Config, error) {
	c := DefaultConfig()
	if path == "" {
		return c, nil
	}
	c.File = path
	src, err := os.ReadFile(path)
	if err != nil {
		return c, Errors{{File: path, Msg: err.Error()}}
	}
	var diags []Diag
	root, ex := parseYAML(path, src, lookup, false, &diags)
	if root != nil {
		d := &decoder{file: path, diags: &diags, tainted: ex.tainted, text: ex.text, refs: ex.refs}
		d.config(root, &c, filepath.Dir(path))
	}
	c.Rules.Retention = c.Retention
	c.Secrets = append(c.Secrets, ex.secrets...)
	redactDiags(diags, &Set{Secrets: c.Secrets})
	sortDiags(diags)
	quoteSource(diags, path, src, c.Secrets)
	if len(diags) > 0 {
		return c, Errors(diags)
	}
	return c, nil
}

// config decodes hookd.yaml's fields into c; relative paths are taken
// from base, the file's directory.
func (d *decoder) config(root *yaml.Node, c *Config, base string) {
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	var failedRetention *yaml.Node
	d.fields(root, "hookd.yaml", map[string]func(k, v *yaml.Node){
		"listen":    func(k, v *yaml.Node) { c.Listen, _ = d.addr(v, "listen", "such as 127.0.0.1:9000") },
		"rules_dir": func(k, v *yaml.Node) { c.RulesDir = rel(d.str(v, "rules_dir")) },
		"data_dir":  func(k, v *yaml.Node) { c.DataDir = rel(d.str(v, "data_dir")) },
		"admin": func(k, v *yaml.Node) {
			c.Admin = d.str(v, "admin")
			if AdminTCP(c.Admin) && !Loopback(c.Admin) {
				d.errf(v, "%s", AdminReachableErr(c.Admin))
			}
		},
		"ui":        func(k, v *yaml.Node) { d.ui(v, c) },
		"workers":   func(k, v *yaml.Node) { c.Workers = d.integer(v, "workers", 1) },
		"max_body":  func(k, v *yaml.Node) { c.MaxBody = d.size(v, "max_body") },
		"retention": func(k, v *yaml.Node) { c.Retention = d.duration(v, "retention") },
		"failed_retention": func(k, v *yaml.Node) {
			c.FailedRetention = d.duration(v, "failed_retention")
			failedRetention = v
		},
		"log":             func(k, v *yaml.Node) { d.logConfig(v, c) },
		"trusted_proxies": func(k, v *yaml.Node) { c.TrustedProxies = d.prefixes(v, "trusted_proxies") },
		"tls": func(k, v *yaml.Node) {
			d.fields(v, "tls", map[string]func(k, v *yaml.Node){
				"cert": func(k, v *yaml.Node) { c.TLSCert = rel(d.str(v, "tls.cert")) },
				"key":  func(k, v *yaml.Node) { c.TLSKey = rel(d.str(v, "tls.key")) },
			})
			if (c.TLSCert == "") != (c.TLSKey == "") {
				d.errf(v, "tls needs both cert and key")
			}
		},
		"shutdown_timeout": func(k, v *yaml.Node) { c.ShutdownTimeout = d.duration(v, "shutdown_timeout") },
		"max_queued":       func(k, v *yaml.Node) { c.MaxQueued = d.integer(v, "max_queued", 1) },
		"retry":            func(k, v *yaml.Node) { c.Rules.Retry = d.retry(v, c.Rules.Retry) },
		"timeout": func(k, v *yaml.Node) {
			c.Rules.Timeout = d.duration(v, "timeout")
			if c.Rules.Timeout == 0 {
				d.errf(v, "timeout must be above zero")
			}
		},
		"removed_rule_grace": func(k, v *yaml.Node) { c.RuleGrace = d.duration(v, "removed_rule_grace") },
		"ops":                func(k, v *yaml.Node) { c.OpsListen = d.ops(v) },
		"node":               func(k, v *yaml.Node) { c.Node = d.node(v) },
		"store":              func(k, v *yaml.Node) { d.store(v, c) },
	})
	if failedRetention != nil && c.FailedRetention > 0 && c.Retention > 0 && c.FailedRetention < c.Retention {
		d.errf(failedRetention, "failed_retention (%s) is shorter than retention (%s): failed events would go before done ones; "+
			"raise it, or leave it out to keep failed events until a replay succeeds", shortDuration(c.FailedRetention), shortDuration(c.Retention))
	}
}

// logConfig decodes the log block into c.
func (d *decoder) logConfig(v *yaml.Node, c *Config) {
	d.fields(v, "log", map[string]func(k, v *yaml.Node){
		"format": func(k, v *yaml.Node) {
			c.LogFormat = d.str(v, "log.format")
			if c.LogFormat != "text" && c.LogFormat != "json" {
				d.errf(v, "log.format must be text or json")
			}
		},
		"level": func(k, v *yaml.Node) {
			c.LogLevel = d.str(v, "log.level")
			switch c.LogLevel {
			case "debug", "info", "warn", "error":
			default:
				d.errf(v, "log.level must be debug, info, warn or error")
			}
		},
	})
}

// ops reads the ops block: where /metrics, /healthz and /readyz listen,
// apart from the webhooks.
func (d *decoder) ops(n *yaml.Node) string {
	var addr string
	d.fields(n, "ops", map[string]func(k, v *yaml.Node){
		"listen": func(k, v *yaml.Node) {
			addr, _ = d.addr(v, "ops.listen", "such as 127.0.0.1:9100")
		},
	})
	return addr
}

// addr reads a TCP address to listen on, refusing at its place in the
// file what net.Listen would refuse at start (a port out of range, no
// port); ok is false then. such is the message's example ("such as
// 127.0.0.1:9000").
func (d *decoder) addr(v *yaml.Node, what, such string) (addr string, ok bool) {
	addr = d.str(v, what)
	if err := CheckListenAddr(addr); err != nil {
		d.errf(v, "%s must be an address (host:port, %s): %v", what, such, err)
		return addr, false
	}
	return addr, true
}

// CheckListenAddr tells what net.Listen would say of a malformed TCP
// address (no port, a port out of range), without listening.
func CheckListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	return err
}
