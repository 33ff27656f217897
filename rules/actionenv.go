package rules

import "strings"

// A shell action's environment is explicit: hookd cannot tell which of the
// variables it inherits are secrets (an EnvironmentFile= line no rule names
// any more is still in its environment), so only these pass, plus HOOKD_*
// and the action's env:. A value a rule needs from the daemon's
// environment is passed as env: {NAME: "${NAME}"}, expanded at load.

// actionEnvNames are the daemon's variables an action inherits: what a
// program needs to find itself (PATH, HOME), who it runs as, its locale,
// time zone and temporary directory, and systemd's per-start id and journal
// stream (neither grants anything). CREDENTIALS_DIRECTORY, NOTIFY_SOCKET
// and the socket-activation variables are the daemon's own.
var actionEnvNames = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true,
	"LANG": true, "LANGUAGE": true, "TZ": true, "TMPDIR": true,
	"INVOCATION_ID": true, "JOURNAL_STREAM": true,
}

// Inherited reports whether an action inherits the daemon's variable name.
func Inherited(name string) bool {
	return actionEnvNames[name] || strings.HasPrefix(name, "LC_")
}

// ActionEnviron is the part of the daemon's environment (os.Environ()'s
// "K=V" entries) that actions get: the inherited names, less any whose value
// holds one of the configuration's secrets.
func (s *Set) ActionEnviron(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if Inherited(name) && !s.IsSecret(val) {
			out = append(out, kv)
		}
	}
	return out
}
