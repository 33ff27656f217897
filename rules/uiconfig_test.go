package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestUIConfig(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		yaml  string
		check func(t *testing.T, c Config)
		err   string
	}{
		{name: "on by default on loopback", yaml: "", check: func(t *testing.T, c Config) {
			if c.UI.Listen != "127.0.0.1:9001" || c.UI.Configured || len(c.UI.Users) != 0 {
				t.Fatalf("%+v", c.UI)
			}
		}},
		{name: "off", yaml: "ui: {listen: off}\n", check: func(t *testing.T, c Config) {
			if c.UI.Listen != "" {
				t.Fatalf("%+v", c.UI)
			}
		}},
		{name: "configured loopback without users", yaml: "ui: {listen: 'localhost:8081'}\n", check: func(t *testing.T, c Config) {
			if c.UI.Listen != "localhost:8081" || !c.UI.Configured {
				t.Fatalf("%+v", c.UI)
			}
		}},
		{name: "beyond loopback with users", yaml: "ui:\n  listen: 0.0.0.0:9001\n  users: {alice: '" + string(hash) + "'}\n", check: func(t *testing.T, c Config) {
			if c.UI.Listen != "0.0.0.0:9001" || bcrypt.CompareHashAndPassword(c.UI.Users["alice"], []byte("s3cret")) != nil {
				t.Fatalf("%+v", c.UI)
			}
		}},
		{name: "beyond loopback without users", yaml: "ui:\n  listen: 0.0.0.0:9001\n",
			err: "hookd.yaml:2:11: ui.listen 0.0.0.0:9001 is reachable beyond this machine: set ui.users"},
		{name: "every interface without users", yaml: "ui: {listen: ':9001'}\n",
			err: "hookd.yaml:1:14: ui.listen :9001 is reachable beyond this machine"},
		{name: "ui: off", yaml: "ui: off\n",
			err: "hookd.yaml:1:5: ui must be a mapping, not \"off\": write ui: {listen: off} to turn the dashboard off"},
		{name: "not a hash", yaml: "ui:\n  users: {bob: hunter2}\n",
			err: "hookd.yaml:2:16: ui.users.bob must be a bcrypt hash (make one with hookd hash-password)"},
		{name: "bad address and unknown key", yaml: "ui:\n  listen: nowhere\n  user: {}\n",
			err: "hookd.yaml:2:11: ui.listen must be an address (host:port, such as 127.0.0.1:9001, or off): address nowhere: missing port in address\nhookd.yaml:3:3: ui: unknown key \"user\""},
		{name: "hosts behind a proxy", yaml: "ui: {hosts: [Hookd-Admin.example.com., hookd.internal]}\n", check: func(t *testing.T, c Config) {
			if strings.Join(c.UI.Hosts, ",") != "hookd-admin.example.com,hookd.internal" {
				t.Fatalf("%+v", c.UI)
			}
		}},
		{name: "a host with a port or scheme", yaml: "ui:\n  hosts: ['hookd.example.com:443', 'https://hookd.example.com']\n",
			err: "hookd.yaml:2:11: ui.hosts: \"hookd.example.com:443\" is not a host name: write the name alone, such as hookd-admin.example.com (no scheme, port or path)\n" +
				"hookd.yaml:2:36: ui.hosts: \"https://hookd.example.com\" is not a host name"},
		{name: "admin beyond loopback", yaml: "admin: 0.0.0.0:9002\n",
			err: "hookd.yaml:1:8: admin 0.0.0.0:9002 is reachable beyond this machine, and the admin API has no authentication"},
		{name: "admin on loopback tcp", yaml: "admin: '[::1]:9002'\n", check: func(t *testing.T, c Config) {
			if c.Admin != "[::1]:9002" {
				t.Fatal(c.Admin)
			}
		}},
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
				if !strings.HasPrefix(got, tc.err) {
					t.Fatalf("error:\n%s\nwant prefix:\n%s", got, tc.err)
				}
				if strings.Contains(got, "hunter2") {
					t.Fatalf("the error shows the value: %s", got)
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
