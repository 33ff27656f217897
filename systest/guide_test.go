package systest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A shell block of the README's install guide.
type guideBlock struct {
	line int    // README.md line of its first command
	tag  string // "" (every path), "package", "source", or "skip: why"
	text string
}

// guideMark is the HTML comment, invisible on the page, that says which
// install path a block belongs to.
var guideMark = regexp.MustCompile(`^<!-- guide: (package|source|skip: .+) -->$`)

// guideBlocks returns the ```sh blocks of README.md from "### 1. Install"
// to the next "### 4.", each with the guide mark of the line before it.
func guideBlocks(t *testing.T) []guideBlock {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks      []guideBlock
		in, inBlock bool
		indent, tag string
		cur         *guideBlock
		prev        string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "### 1. Install"):
			in = true
		case in && strings.HasPrefix(line, "### 4."):
			in = false
		case !in:
		case inBlock && trimmed == "```":
			inBlock = false
			blocks = append(blocks, *cur)
		case inBlock:
			cur.text += strings.TrimPrefix(line, indent) + "\n"
		case trimmed == "```sh":
			inBlock, indent, tag = true, line[:len(line)-len(strings.TrimLeft(line, " "))], ""
			if m := guideMark.FindStringSubmatch(prev); m != nil {
				tag = m[1]
			}
			cur = &guideBlock{line: n + 1, tag: tag}
		}
		if trimmed != "" {
			prev = trimmed
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 5 {
		t.Fatalf("README.md: %d shell blocks in the install guide; the extraction broke", len(blocks))
	}
	return blocks
}

// The README's install guide, followed literally, gives a hookd that
// serves a signed push and runs the deploy script: once from the package,
// once from source. Each path runs its blocks in order under bash -e, in a
// prefix: /etc/hookd, /var/lib/hookd, /usr/local/bin, /usr/bin/hookd and
// /etc/systemd/system are moved into a temporary root, and the commands
// that need root or systemd (useradd, systemctl, journalctl, the owner of
// install -o, dpkg's postinst, systemd-run's user) are replaced by the
// scripts in testdata/guide, which say what they skip. Blocks marked
// `<!-- guide: skip: why -->` are listed with their reason.
func TestInstallGuide(t *testing.T) {
	blocks := guideBlocks(t)
	for _, b := range blocks {
		if strings.HasPrefix(b.tag, "skip: ") {
			t.Logf("README.md:%d: block not run (%s)", b.line, strings.TrimPrefix(b.tag, "skip: "))
		}
	}
	t.Run("package", func(t *testing.T) {
		for _, tool := range []string{"dpkg", "dpkg-deb", "sha256sum"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("SKIP: no %s on this machine: the package cannot be unpacked", tool)
			}
		}
		dist := filepath.Join(t.TempDir(), "dist")
		build := exec.Command("../packaging/build")
		build.Env = append(os.Environ(), "HOOKD_DIST="+dist, "HOOKD_ARCHES="+runtime.GOARCH)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("packaging/build: %v\n%s", err, out)
		}
		followGuide(t, blocks, "package", dist, "usr/bin/hookd")
	})
	t.Run("source", func(t *testing.T) {
		// A checkout, as a directory of links, so that go build writes its
		// binary outside the repository.
		checkout := t.TempDir()
		entries, err := os.ReadDir("..")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == "hookd" || e.Name() == "dist" || e.Name() == "data" {
				continue
			}
			abs, _ := filepath.Abs(filepath.Join("..", e.Name()))
			if err := os.Symlink(abs, filepath.Join(checkout, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		followGuide(t, blocks, "source", checkout, "usr/local/bin/hookd")
	})
}

// followGuide runs the blocks of one install path in dir, then starts the
// hookd it installed (installed, in the prefix) the way the unit does and
// sends it a signed push.
func followGuide(t *testing.T, blocks []guideBlock, path, dir, installed string) {
	root := t.TempDir()
	for _, d := range []string{"etc/systemd/system", "usr/bin", "usr/local/bin", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stubs, err := filepath.Abs("testdata/guide")
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "skipped")
	prefix := strings.NewReplacer("/etc/hookd", root+"/etc/hookd", "/var/lib/hookd", root+"/var/lib/hookd",
		"/usr/local/bin/", root+"/usr/local/bin/", "/usr/bin/hookd", root+"/usr/bin/hookd",
		"/etc/systemd/system", root+"/etc/systemd/system")
	env := append(os.Environ(),
		"PATH="+stubs+":"+filepath.Dir(filepath.Join(root, installed))+":"+os.Getenv("PATH"),
		"GUIDE_REAL_PATH="+os.Getenv("PATH"), "GUIDE_ROOT="+root, "GUIDE_LOG="+logFile, "GUIDE_SECRET="+secret)
	ran := 0
	for _, b := range blocks {
		if b.tag != "" && b.tag != path {
			continue
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", prefix.Replace(b.text))
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README.md:%d: the %s guide's block fails: %v\n%s\n--- the block, in the prefix %s:\n%s",
				b.line, path, err, out, root, prefix.Replace(b.text))
		}
		ran++
	}
	if skipped, err := os.ReadFile(logFile); err == nil {
		t.Logf("%s guide, %d blocks run; replaced:\n%s", path, ran, skipped)
	}

	// What systemd does at the first start: StateDirectory=hookd.
	data := filepath.Join(root, "var/lib/hookd")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "etc/hookd/hookd.yaml")
	s := newSite(t, "", "")
	s.env = append(s.env, "GITHUB_WEBHOOK_SECRET="+secret) // EnvironmentFile=-/etc/hookd/env
	s.cwd = "/"
	hookd := filepath.Join(root, installed)
	s.startCmd(exec.Command(hookd, "serve", "-config", cfg, "-listen", s.addr))

	body := []byte(`{"ref":"refs/heads/main","after":"4f2a9c1","repository":{"full_name":"acme/site"}}`)
	r, err := s.postTo("/hooks/github", githubHeaders("guide-"+path, body), body)
	if err != nil || r.code != 200 || r.Status != "accepted" {
		t.Fatalf("a signed push to the installed hookd: %v %+v", err, r)
	}
	var show []byte
	eventually(t, "the guide's deploy.sh ran", 20*time.Second, func() bool {
		show, _ = exec.Command(hookd, "show", fmt.Sprint(r.ID), "-config", cfg).CombinedOutput()
		return strings.Contains(string(show), "deploying acme/site at 4f2a9c1")
	})
}
