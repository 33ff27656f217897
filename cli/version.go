package cli

import (
	"runtime/debug"
	"strings"
	"time"
)

// Version is set for releases with -ldflags "-X hookd/cli.Version=1.2.3".
// Without it the version comes from the build's own information: the
// module version for `go install hookd@v1.2.3`, else the git commit that
// `go build` stamps in a checkout.
var Version = ""

// Commit is the full git commit hash, set with -ldflags
// "-X hookd/cli.Commit=..." by packaging/build, which builds with
// -buildvcs=false (Go stamps no commit from a git worktree). The commit Go
// stamps itself, when there is one, wins.
var Commit = ""

// build describes the binary: its version and, when known, its commit.
type build struct {
	version  string // 1.2.3, or 0.0.0~git20261130.9a5f34d for a commit
	revision string // the full commit hash
	time     string // the commit's time, RFC 3339
	modified bool   // built from a checkout with uncommitted changes
}

func buildOf(ldVersion, ldCommit string, bi *debug.BuildInfo) build {
	b := build{revision: ldCommit}
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.revision = s.Value
			case "vcs.time":
				b.time = s.Value
			case "vcs.modified":
				b.modified = s.Value == "true"
			}
		}
	}
	switch {
	case ldVersion != "":
		b.version = strings.TrimPrefix(ldVersion, "v")
	case bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" &&
		(b.revision == "" || !strings.Contains(bi.Main.Version, short(b.revision))):
		// A tag; go build in an untagged checkout gives a pseudo-version
		// (v0.0.0-20261130231000-9a5f34d0c1b2), which is rewritten below.
		b.version = strings.TrimPrefix(bi.Main.Version, "v")
	case b.revision != "":
		// A pre-release of no release yet, sorting by commit date
		// (Debian's 0.0.0~git<date>.<commit>, <date> down to the second).
		date := "unknown"
		if t, err := time.Parse(time.RFC3339, b.time); err == nil {
			date = t.UTC().Format("20060102150405")
		}
		b.version = "0.0.0~git" + date + "." + short(b.revision)
		if b.modified {
			b.version += "+dirty"
		}
	default:
		b.version = "0.0.0~devel" // built without version control information
	}
	return b
}

func short(rev string) string { return rev[:min(len(rev), 12)] }

func currentBuild() build {
	bi, _ := debug.ReadBuildInfo()
	return buildOf(Version, Commit, bi)
}

// version is the version string, also in User-Agent and hookd_build_info.
func version() string { return currentBuild().version }

// versionLine is what `hookd version` prints after "hookd ".
func versionLine() string { return lineOf(currentBuild()) }

func lineOf(b build) string {
	line := b.version
	if b.revision != "" && !strings.Contains(b.version, short(b.revision)) {
		line += " (commit " + short(b.revision)
		if b.modified {
			line += ", modified"
		}
		line += ")"
	}
	return line
}
