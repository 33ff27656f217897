package rules

import "strings"

// Brief says in a few words what the action runs, from its templates'
// sources (shell ./deploy.sh {{ body.after }}, http POST https://...), for
// the dashboard. A URL's password is hidden as `hookd test` hides it;
// secrets read from ${VAR} may be in the rest: redact it first.
func (a *Action) Brief() string {
	switch x := a.impl.(type) {
	case *shellAction:
		if x.script != "" {
			return "shell script"
		}
		parts := make([]string, len(x.argv))
		for i, t := range x.argv {
			parts[i] = t.Source()
		}
		return "shell " + strings.Join(parts, " ")
	case *httpAction:
		return "http " + x.method + " " + hideUserinfo(x.url.Source())
	case *slackAction:
		if x.channel != nil {
			return "slack " + x.channel.Source()
		}
		return "slack"
	}
	return a.Kind
}
