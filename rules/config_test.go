package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// notURL is what a store.url that does not parse gets: never the URL.
const notURL = "is not a URL: write postgres://USER:PASSWORD@HOST/DATABASE, " +
	"with each / ? # @ : % or space in the user or password percent-encoded (%2F %3F %23 %40 %3A %25 %20)"

func TestLoadConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string
		check func(t *testing.T, c Config)
		err   string
	}{
		{name: "empty file keeps defaults", yaml: "", check: func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:9000" || c.MaxBody != 10<<20 || c.Retention != 720*time.Hour || c.Workers != 4 {
				t.Fatalf("defaults: %+v", c)
			}
		}},
		{name: "every setting", yaml: `
listen: 0.0.0.0:8080
rules_dir: rules.d
data_dir: /var/lib/hookd
admin: 127.0.0.1:9001
workers: 8
max_body: 512KiB
max_queued: 50
retention: 1d12h
shutdown_timeout: 5s
timeout: 1m
retry: {attempts: 5, backoff: 1s, max_backoff: 30s}
log: {format: json, level: debug}
trusted_proxies: [127.0.0.1, 10.0.0.0/8]
tls: {cert: c.pem, key: k.pem}
`, check: func(t *testing.T, c Config) {
			if c.Listen != "0.0.0.0:8080" || c.Workers != 8 || c.MaxBody != 512<<10 || c.MaxQueued != 50 || c.Retention != 36*time.Hour ||
				c.ShutdownTimeout != 5*time.Second || c.Rules.Timeout != time.Minute || c.Rules.Retry.Attempts != 5 ||
				c.LogFormat != "json" || c.LogLevel != "debug" || len(c.TrustedProxies) != 2 || c.Admin != "127.0.0.1:9001" {
				t.Fatalf("settings: %+v", c)
			}
			if !filepath.IsAbs(c.RulesDir) || filepath.Base(c.RulesDir) != "rules.d" || c.DataDir != "/var/lib/hookd" || filepath.Base(c.TLSCert) != "c.pem" {
				t.Fatalf("paths: %q %q %q", c.RulesDir, c.DataDir, c.TLSCert)
			}
		}},
		{name: "removed rule grace", yaml: "removed_rule_grace: 30s\n", check: func(t *testing.T, c Config) {
			if c.RuleGrace != 30*time.Second || DefaultConfig().RuleGrace != 5*time.Minute {
				t.Fatalf("removed_rule_grace %v, default %v", c.RuleGrace, DefaultConfig().RuleGrace)
			}
		}},
		{name: "variables", yaml: "listen: ${LISTEN:-127.0.0.1:9999}\nworkers: ${WORKERS:-2}\n", check: func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:9999" || c.Workers != 2 {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "port out of range", yaml: "listen: 127.0.0.1:99999\nops: {listen: 'localhost'}\n",
			err: "hookd.yaml:1:9: listen must be an address (host:port, such as 127.0.0.1:9000): address 99999: invalid port\n" +
				"hookd.yaml:2:15: ops.listen must be an address (host:port, such as 127.0.0.1:9100): address localhost: missing port in address"},
		{name: "second document", yaml: "workers: 2\n---\nworkers: 3\n",
			err: "hookd.yaml:2:1: a file holds one YAML document, and this --- starts a second one, which hookd would not read: move its settings into the first document"},
		{name: "merge key and backoff", yaml: "retry: {<<: {attempts: 2, backoff: 9s}, max_backoff: 3s}\n",
			err: "hookd.yaml:1:54: retry.max_backoff 3s is below retry.backoff 9s: the longest wait cannot be shorter than the first (raise max_backoff, or lower backoff)"},
		{name: "unknown key", yaml: "listen: 127.0.0.1:9999\nworkerz: 3\n", err: "hookd.yaml:2:1: hookd.yaml: unknown key \"workerz\""},
		{name: "bad values", yaml: "workers: 0\nmax_body: lots\nlog: {format: xml}\ntls: {cert: a.pem}\n",
			err: "hookd.yaml:1:10: workers must be at least 1\nhookd.yaml:2:11: max_body: \"lots\" is not a size (write e.g. 10MiB, 512KiB or a number of bytes)\nhookd.yaml:3:15: log.format must be text or json\nhookd.yaml:4:6: tls needs both cert and key"},
		{name: "syntax error at its place", yaml: "listen: 127.0.0.1:9999\n# proxies\ntrusted_proxies: [127.0.0.1/32, ::1/128]\n",
			err: "hookd.yaml:3:33: did not find expected node content: inside [ ] and { }, a value starting with ':' must be quoted (write \"::1/128\")"},
		{name: "ops listener", yaml: "ops: {listen: 127.0.0.1:9100}\n", check: func(t *testing.T, c Config) {
			if c.OpsListen != "127.0.0.1:9100" || DefaultConfig().OpsListen != "" {
				t.Fatalf("ops.listen %q, default %q", c.OpsListen, DefaultConfig().OpsListen)
			}
		}},
		{name: "bad ops listener", yaml: "ops:\n  listen: localhost\n  lisen: x\n",
			err: "hookd.yaml:2:11: ops.listen must be an address (host:port, such as 127.0.0.1:9100): address localhost: missing port in address\nhookd.yaml:3:3: ops: unknown key \"lisen\""},
		{name: "store defaults to bbolt", yaml: "listen: 127.0.0.1:9999\n", check: func(t *testing.T, c Config) {
			if c.Store != DefaultStore || c.Store.Driver != "bbolt" || c.Store.Shared() || c.Node != "" || c.NodeName() == "" {
				t.Fatalf("store %+v, node %q (%q)", c.Store, c.Node, c.NodeName())
			}
		}},
		{name: "postgres store", yaml: "node: web-1\nstore:\n  driver: postgres\n  url: postgres://hookd:pw-in-url@db/hookd?sslmode=verify-full&password=pw-in-query\n  max_conns: 20\n  lease: 10s\n",
			check: func(t *testing.T, c Config) {
				s := c.Store
				if !s.Shared() || s.MaxConns != 20 || s.Lease != 10*time.Second || c.NodeName() != "web-1" {
					t.Fatalf("store %+v, node %q", s, c.NodeName())
				}
				if strings.Join(c.Secrets, " ") != "pw-in-url pw-in-query" {
					t.Fatalf("secrets %q: the URL's passwords must be redacted", c.Secrets)
				}
				if r := s.Redacted(); strings.Contains(r, "pw-in") || !strings.Contains(r, "db/hookd") {
					t.Fatalf("redacted URL %q", r)
				}
			}},
		{name: "postgres store defaults", yaml: "store: {driver: postgres, url: 'postgres:///hookd?host=/run/postgresql'}\n", check: func(t *testing.T, c Config) {
			if c.Store.MaxConns != DefaultStore.MaxConns || c.Store.Lease != 30*time.Second || len(c.Secrets) != 0 {
				t.Fatalf("store %+v, secrets %q", c.Store, c.Secrets)
			}
		}},
		{name: "bad store", yaml: "store:\n  driver: mysql\n  url: 'postgres://u:hunter22@db'\n",
			err: "hookd.yaml:2:11: store.driver must be bbolt (the default, a file in data_dir) or postgres (shared by several nodes), not \"mysql\"\nhookd.yaml:3:8: store.url names no database: write postgres://USER@HOST/DATABASE"},
		{name: "url is not quoted", yaml: "store: {driver: postgres, url: 'postgres://u:hunter22@db:port/x'}\n",
			err: "hookd.yaml:1:32: store.url " + notURL},
		// A password with a slash ends the host part early, where url's
		// error would quote it.
		{name: "password not percent-encoded", yaml: "store: {driver: postgres, url: 'postgres://hookd:Tr0ub4dor/Staple@db:5432/hookd'}\n",
			err: "hookd.yaml:1:32: store.url " + notURL},
		// A slash before an @ in the password: the URL parses, with the
		// password cut at the first @ and the rest taken as the path.
		{name: "password with / and @ not percent-encoded", yaml: "store: {driver: postgres, url: 'postgres://hookd:p@ss/word9@db.internal/hookd'}\n",
			err: "hookd.yaml:1:32: store.url: has an @ after its host: a / or @ in the user or password must be percent-encoded (%2F, %40), and an @ in the database name too (%40)"},
		{name: "zero lease", yaml: "store: {driver: postgres, url: 'postgres://u@db/x', lease: 0s}\n",
			err: "hookd.yaml:1:60: store.lease must be at least 1s (a node renews its lease a few times within it)"},
		{name: "lease not a duration", yaml: "store: {driver: postgres, url: 'postgres://u@db/x', lease: banana}\n",
			err: "hookd.yaml:1:60: store.lease: \"banana\" is not a duration (write e.g. 30s, 10m, 2h, 30d)"},
		{name: "failed_retention shorter than retention", yaml: "retention: 30d\nfailed_retention: 7d\n",
			err: "hookd.yaml:2:19: failed_retention (7d) is shorter than retention (30d): failed events would go before done ones"},
		{name: "failed_retention", yaml: "retention: 7d\nfailed_retention: 90d\n", check: func(t *testing.T, c Config) {
			if c.Retention != 7*24*time.Hour || c.FailedRetention != 90*24*time.Hour {
				t.Fatalf("retention %v, failed_retention %v", c.Retention, c.FailedRetention)
			}
		}},
		{name: "failed events kept by default", yaml: "retention: 7d\n", check: func(t *testing.T, c Config) {
			if c.FailedRetention != 0 {
				t.Fatalf("failed_retention %v, want 0 (until a replay succeeds)", c.FailedRetention)
			}
		}},
		{name: "unset variable", yaml: "listen: ${NO_SUCH_VAR_HOOKD}\n", err: "hookd.yaml:1:9: environment variable NO_SUCH_VAR_HOOKD is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "hookd.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(p, func(string) (string, bool) { return "", false })
			if tc.err != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tc.err)
				}
				got := strings.ReplaceAll(err.Error(), dir+"/", "")
				if strings.Contains(got, "hunter22") {
					t.Fatalf("error shows the URL's password:\n%s", got)
				}
				if !strings.HasPrefix(got, tc.err) {
					t.Fatalf("error:\n%s\nwant prefix:\n%s", got, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
