package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A source whose signatures stay valid for longer than retention keeps
// their records is warned of at its name: a replay after the prune would
// run again. Mailgun's default, 12h, is within the default retention.
func TestToleranceBeyondRetention(t *testing.T) {
	const sources = `sources:
  mailgun:
    verify: {provider: mailgun, secret: k}
  strict:
    verify: {provider: mailgun, secret: k, tolerance: 5m}
  sendgrid:
    verify: {provider: sendgrid, public_key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==", tolerance: 2d}
  github:
    verify: {provider: github, secret: k}
rules: []
`
	for _, tc := range []struct {
		name, config string
		want         []string
	}{
		{"default retention (30d)", "", nil},
		{"retention 1d", "retention: 1d\n", []string{`r.yaml:6:3: warning: source "sendgrid": verify accepts signatures 2d old (tolerance), longer than retention (1d) keeps their records`}},
		{"retention 6h", "retention: 6h\n", []string{
			`r.yaml:2:3: warning: source "mailgun": verify accepts signatures 12h old (tolerance), longer than retention (6h) keeps their records: a delivery replayed after its record is pruned would run again; lower tolerance or raise retention`,
			`r.yaml:6:3: warning: source "sendgrid": verify accepts signatures 2d old (tolerance), longer than retention (6h)`}},
		{"kept for ever", "retention: 0s\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rd := filepath.Join(dir, "rules.d")
			if err := os.Mkdir(rd, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(rd, "r.yaml"), []byte(sources), 0o600); err != nil {
				t.Fatal(err)
			}
			cf := filepath.Join(dir, "hookd.yaml")
			if err := os.WriteFile(cf, []byte("rules_dir: rules.d\n"+tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfig(cf, nil)
			if err != nil {
				t.Fatal(err)
			}
			set, err := Load(cfg.RulesDir, cfg.Rules, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range set.Warnings {
				if strings.Contains(w.Msg, "tolerance") {
					got = append(got, w.String())
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("warnings:\n%s\nwant %d", strings.Join(got, "\n"), len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d: %s\nwant it to contain %s", i, got[i], w)
				}
			}
		})
	}
}
