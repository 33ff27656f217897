package rules

import (
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"hookd/store/pgstore"
)

// Store drivers.
const (
	DriverBbolt    = "bbolt"
	DriverPostgres = "postgres"
)

// Store is hookd.yaml's store block: where events and jobs are kept. bbolt
// (the default) is a file in data_dir for one process; postgres is a
// database that several nodes share (SPEC section 10).
type Store struct {
	Driver string // DriverBbolt or DriverPostgres
	// URL is the PostgreSQL connection URL (postgres only). It may hold a
	// password: never log it; Redacted is what may be shown.
	URL string
	// MaxConns bounds the connections this node opens (postgres only).
	MaxConns int
	// Lease is how long the jobs a node runs stay its own without it
	// renewing them: after a node dies, others run its jobs again once it
	// runs out (postgres only).
	Lease time.Duration
}

// DefaultStore is the store block hookd runs with when hookd.yaml has none.
var DefaultStore = Store{Driver: DriverBbolt, MaxConns: 10, Lease: 30 * time.Second}

// Shared tells whether several nodes may share the store.
func (s Store) Shared() bool { return s.Driver == DriverPostgres }

// Redacted is the URL with its password, if any, replaced by xxxxx.
func (s Store) Redacted() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return "[unparsable URL]"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// urlSecrets returns the password of a connection URL (in its user part or
// its query), the parts to keep out of every message.
func urlSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return []string{raw} // unparsable: all of it may be a secret
	}
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p)
	}
	if p := u.Query().Get("password"); p != "" {
		out = append(out, p)
	}
	return out
}

// Redactor hides hookd.yaml's secrets (values read from files, the
// store URL's password) in a message.
func (c *Config) Redactor() *strings.Replacer { return (&Set{Secrets: c.Secrets}).Redactor() }

// NodeName is the name this node goes by in logs, metrics and the
// dashboard: node: in hookd.yaml, or the hostname.
func (c *Config) NodeName() string {
	if c.Node != "" {
		return c.Node
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "hookd"
}

// node reads node: a name shown in logs and metrics labels.
func (d *decoder) node(n *yaml.Node) string {
	s := d.str(n, "node")
	switch {
	case s == "" && n.Kind == yaml.ScalarNode:
		d.errf(n, "node must not be empty (leave it out to use the hostname)")
	case len(s) > 100:
		d.errf(n, "node must be at most 100 characters")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		d.errf(n, "node must not hold spaces or control characters")
	}
	return s
}

// store reads the store block into c.Store, and adds the URL's password to
// c.Secrets. Errors never quote the URL.
func (d *decoder) store(n *yaml.Node, c *Config) {
	s := DefaultStore
	var driverNode, urlNode *yaml.Node
	var pgOnly []*yaml.Node // keys that only the postgres driver reads
	var pgKeys []string
	onlyPG := func(k *yaml.Node) {
		pgOnly = append(pgOnly, k)
		pgKeys = append(pgKeys, k.Value)
	}
	ok := d.fields(n, "store", map[string]func(k, v *yaml.Node){
		"driver": func(k, v *yaml.Node) {
			driverNode = v
			s.Driver = d.str(v, "store.driver")
			if s.Driver != DriverBbolt && s.Driver != DriverPostgres && !d.tainted[v] {
				d.errf(v, "store.driver must be bbolt (the default, a file in data_dir) or postgres (shared by several nodes), not %q", s.Driver)
			}
		},
		"url": func(k, v *yaml.Node) {
			urlNode = v
			onlyPG(k)
			if v.Kind != yaml.ScalarNode || isNull(v) {
				d.errf(v, "store.url must be a string, not %s", kindName(v))
				return
			}
			s.URL = v.Value
			c.Secrets = append(c.Secrets, urlSecrets(s.URL)...)
			if msg := checkPostgresURL(s.URL); msg != "" && !d.tainted[v] {
				d.errf(v, "store.url%s", msg)
			}
		},
		"max_conns": func(k, v *yaml.Node) { onlyPG(k); s.MaxConns = d.integer(v, "store.max_conns", 1) },
		"lease": func(k, v *yaml.Node) {
			onlyPG(k)
			s.Lease = d.duration(v, "store.lease")
			_, perr := time.ParseDuration(v.Value)
			switch {
			case d.tainted[v], v.Value != "" && perr != nil: // reported already
			case v.Value == "": // an empty value is the default
				s.Lease = DefaultStore.Lease
			case s.Lease < time.Second: // 0s included: not a way to say "default"
				d.errf(v, "store.lease must be at least 1s (a node renews its lease a few times within it)")
			}
		},
	})
	if !ok {
		return
	}
	switch {
	case s.Driver == DriverPostgres && urlNode == nil:
		at := driverNode
		if at == nil {
			at = n
		}
		d.errf(at, "store.driver postgres needs store.url (such as url: ${HOOKD_DATABASE_URL})")
	case s.Driver == DriverBbolt && len(pgOnly) > 0:
		d.errf(pgOnly[0], "store.%s is for driver postgres only: add driver: postgres to the store block, or remove %s",
			pgKeys[0], strings.Join(pgKeys, ", "))
	}
	c.Store = s
}

// checkPostgresURL says what is wrong with a connection URL, as the rest
// of a message that starts "store.url" ("" when nothing is), without
// quoting it: it may hold a password. The driver's own parser has the last
// word, so that check refuses what serve would fail to open.
func checkPostgresURL(raw string) string {
	if raw == "" {
		return " must not be empty"
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's errors quote the part they stopped at, which may be the
		// password: say how to write one instead.
		return " is not a URL: write postgres://USER:PASSWORD@HOST/DATABASE, " +
			"with each / ? # @ : % or space in the user or password percent-encoded (%2F %3F %23 %40 %3A %25 %20)"
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return " must start with postgres:// (write postgres://USER@HOST/DATABASE)"
	}
	if strings.Trim(u.Path, "/") == "" {
		return " names no database: write postgres://USER@HOST/DATABASE"
	}
	// What the driver itself refuses at start (sslmode=bogus, a bad port,
	// an sslrootcert that cannot be read), said without the URL.
	if err := pgstore.CheckURL(raw); err != nil {
		return ": " + err.Error()
	}
	return ""
}
