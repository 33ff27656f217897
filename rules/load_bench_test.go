package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkReload loads 1,000 rules spread over 100 files, as a reload
// of a large configuration does.
func BenchmarkReload(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	for f := 0; f < 100; f++ {
		var s strings.Builder
		fmt.Fprintf(&s, "sources:\n  src%d:\n    verify: {provider: github, secret: \"${SECRET}\"}\nrules:\n", f)
		for r := 0; r < 10; r++ {
			fmt.Fprintf(&s, `  - name: rule-%d-%d
    source: src%d
    when: event == "push" && body.ref == "refs/heads/main" && body.repository.full_name in ["o/r%d", "o/x"]
    concurrency: latest
    retry: {attempts: 3, backoff: 5s}
    actions:
      - shell:
          command: [./deploy.sh, "{{ body.after }}", "{{ body.repository.full_name }}"]
          env: {GIT_SHA: "{{ body.after[:7] }}", RULE: "%d"}
`, f, r, f, r, r)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.yaml", f)), []byte(s.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	lookup := func(string) (string, bool) { return "bench-secret", true }
	for b.Loop() {
		set, err := Load(dir, DefaultRuleDefaults, lookup)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Rules) != 1000 {
			b.Fatalf("%d rules", len(set.Rules))
		}
	}
}
