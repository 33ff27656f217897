package rules

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// A YAML snippet of the documentation, with where it starts.
type docBlock struct {
	at   string // file:line of its first line
	text string
}

// Every YAML snippet an operator may copy from the documentation loads: the
// fenced ```yaml blocks, and the heredocs of ```sh blocks that write a
// *.yaml file. Each block is classified by its shape, and no block is
// skipped:
//   - a top-level key of foreignYAML (another tool's file): it must parse;
//   - a mapping with sources: or rules: is a rules file, loaded by Load;
//   - a list is an action snippet, loaded by Load inside a rule;
//   - any other mapping is hookd.yaml, loaded by LoadConfig, so a block of
//     an unknown shape fails as hookd.yaml's unknown key.
//
// ${VAR} is read from docEnv: a new variable in the documentation fails
// here until it is added there.
func TestDocYAMLLoads(t *testing.T) {
	seen := map[string]int{}
	for _, doc := range []string{"../README.md", "../systemd/README.md"} {
		blocks, err := docYAMLBlocks(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			kind, err := loadDocBlock(t, b.text)
			seen[kind]++
			if err != nil {
				t.Errorf("%s: the %s block does not load:\n%v\n%s", b.at, kind, err, b.text)
			}
		}
	}
	// The README shows each kind; none found means the extraction broke.
	for _, kind := range []string{"hookd.yaml", "rules", "action", "foreign"} {
		if seen[kind] == 0 {
			t.Errorf("no %s block found in the documentation (found %v)", kind, seen)
		}
	}
}

// foreignYAML are the top-level keys of the other tools' files the
// documentation shows.
var foreignYAML = map[string]bool{
	"scrape_configs": true, // Prometheus scrape configuration
	"groups":         true, // Prometheus alerting rules
}

var docEnv = map[string]string{
	"GITHUB_WEBHOOK_SECRET": "doc-github-secret",
	"STATUS_TOKEN":          "doc-status-token",
	"SLACK_SIGNING_SECRET":  "doc-slack-secret",
	"TWILIO_AUTH_TOKEN":     "doc-twilio-token",
	"DISCORD_PUBLIC_KEY":    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	"META_APP_SECRET":       "doc-meta-app-secret",
	"META_VERIFY_TOKEN":     "doc-meta-verify-token",
	"GRAPH_CLIENT_STATE":    "doc-graph-client-state",
	"HOOKD_DATABASE_URL":    "postgres://hookd:doc-db-password@db.internal/hookd?sslmode=verify-full",
}

func docLookup(k string) (string, bool) { v, ok := docEnv[k]; return v, ok }

// loadDocBlock classifies a block and loads it as hookd would.
func loadDocBlock(t *testing.T, text string) (string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return "unparsable", err
	}
	if len(doc.Content) == 0 {
		return "empty", fmt.Errorf("an empty YAML block")
	}
	root := doc.Content[0]
	dir := t.TempDir()
	if root.Kind == yaml.SequenceNode {
		wrapped := "sources:\n  doc: {verify: {provider: none}}\nrules:\n  - name: doc\n    source: doc\n    actions:\n" + reindent(text, 6)
		return "action", loadDocRules(dir, wrapped)
	}
	keys := map[string]bool{}
	for i := 0; root.Kind == yaml.MappingNode && i < len(root.Content); i += 2 {
		keys[root.Content[i].Value] = true
	}
	for k := range keys {
		if foreignYAML[k] {
			return "foreign", nil
		}
	}
	if keys["sources"] || keys["rules"] {
		return "rules", loadDocRules(dir, text)
	}
	p := filepath.Join(dir, "hookd.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(p, docLookup)
	return "hookd.yaml", err
}

// loadDocRules loads a README rules block with the script the README puts
// beside it (./deploy.sh), since relative commands start at the file's directory.
func loadDocRules(dir, text string) error {
	if err := os.WriteFile(filepath.Join(dir, "doc.yaml"), []byte(text), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		return err
	}
	// The secrets the README reads from files and systemd credentials.
	creds := filepath.Join(dir, "creds")
	for _, f := range []string{filepath.Join(creds, "github"), filepath.Join(dir, "secrets", "gitlab")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(f, []byte("doc-secret\n"), 0o600); err != nil {
			return err
		}
	}
	docEnv["CREDENTIALS_DIRECTORY"] = creds
	_, err := Load(dir, DefaultRuleDefaults, docLookup)
	return err
}

// reindent moves a block so that its least indented line starts at col.
func reindent(text string, col int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	least := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); least < 0 || n < least {
			least = n
		}
	}
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			b.WriteString(strings.Repeat(" ", col) + l[least:])
		}
		b.WriteString("\n")
	}
	return b.String()
}

var (
	fenceRe   = regexp.MustCompile("^( *)```\\s*([A-Za-z0-9_-]*)")
	heredocRe = regexp.MustCompile(`(?:tee(?:\s+-\S+)*|>)\s+(\S+\.ya?ml)\b.*<<-?\s*['"]?([A-Za-z_]+)['"]?\s*$`)
)

// docYAMLBlocks returns the ```yaml blocks of a Markdown file and the
// heredocs of its ```sh blocks that write a *.yaml file.
func docYAMLBlocks(path string) ([]docBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out                []docBlock
		lang, indent, eof  string
		inFence, inHeredoc bool
		cur                *docBlock
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := fenceRe.FindStringSubmatch(line); m != nil && !inHeredoc {
			if !inFence {
				inFence, indent, lang = true, m[1], strings.ToLower(m[2])
				if lang == "yaml" || lang == "yml" {
					cur = &docBlock{at: fmt.Sprintf("%s:%d", path, n+1)}
				}
				continue
			}
			inFence = false
			if cur != nil {
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if !inFence {
			continue
		}
		line = strings.TrimPrefix(line, indent)
		switch {
		case inHeredoc && line == eof:
			inHeredoc = false
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case lang == "sh" || lang == "bash" || lang == "shell" || lang == "console":
			if m := heredocRe.FindStringSubmatch(line); m != nil {
				inHeredoc, eof = true, m[2]
				cur = &docBlock{at: fmt.Sprintf("%s:%d (%s)", path, n+1, m[1])}
			}
		}
	}
	return out, sc.Err()
}

// The extraction finds every YAML block, whatever its fence, indentation
// or the way a shell block writes it.
func TestDocYAMLBlocks(t *testing.T) {
	md := "# Doc\n" +
		"```yaml\na: 1\n```\n" +
		"- item\n\n  ```YAML\n  b: 2\n  ```\n" +
		"```sh\nsudo tee -a /etc/hookd/hookd.yaml >/dev/null <<'EOF'\nc: 3\nEOF\ncat > rules.d/x.yml <<EOF\nd: 4\nEOF\necho '```'\n```\n" +
		"```ini\n[Service]\n```\n"
	p := filepath.Join(t.TempDir(), "doc.md")
	if err := os.WriteFile(p, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := docYAMLBlocks(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range blocks {
		got = append(got, strings.TrimPrefix(b.at, p)+" "+strings.TrimSpace(b.text))
	}
	want := []string{":3 a: 1", ":8 b: 2", ":12 (/etc/hookd/hookd.yaml) c: 3", ":15 (rules.d/x.yml) d: 4"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("blocks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
