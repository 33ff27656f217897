package cli

import (
	"runtime/debug"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "hookd", Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "9a5f34d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6"},
			{Key: "vcs.time", Value: "2026-11-30T23:10:00Z"},
			{Key: "vcs.modified", Value: modified},
		}}
	}
	pseudo := vcs("false")
	pseudo.Main.Version = "v0.0.0-20261130231000-9a5f34d0c1b2"
	for _, tc := range []struct {
		name, ld, commit string
		bi               *debug.BuildInfo
		want             string
	}{
		{"release stamped with -ldflags", "v1.4.0", "", vcs("false"), "1.4.0"},
		{"go install of a tag", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.2"}}, "1.3.2"},
		{"go build in a checkout", "", "", vcs("false"), "0.0.0~git20261130231000.9a5f34d0c1b2"},
		{"go build in a checkout, go >= 1.24", "", "", pseudo, "0.0.0~git20261130231000.9a5f34d0c1b2"},
		{"uncommitted changes", "", "", vcs("true"), "0.0.0~git20261130231000.9a5f34d0c1b2+dirty"},
		{"no version control", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "0.0.0~devel"},
		{"no build information", "", "", nil, "0.0.0~devel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := buildOf(tc.ld, tc.commit, tc.bi).version; got != tc.want {
				t.Fatalf("version %q, want %q", got, tc.want)
			}
		})
	}
}

// packaging/build stamps both the version and the commit with -ldflags;
// `hookd version` names the commit unless the version already does.
func TestBuildCommitStamped(t *testing.T) {
	noVCS := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
	const commit = "9a5f34d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6"
	for _, tc := range []struct{ ld, want string }{
		{"1.4.0", "1.4.0 (commit 9a5f34d0c1b2)"},
		{"0.0.0~git20261130231000.9a5f34d0c1b2", "0.0.0~git20261130231000.9a5f34d0c1b2"},
	} {
		if got := lineOf(buildOf(tc.ld, commit, noVCS)); got != tc.want {
			t.Errorf("-X Version=%s -X Commit=%s: hookd version says %q, want %q", tc.ld, commit, got, tc.want)
		}
	}
}
