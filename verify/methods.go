package verify

// What a provider says of the HTTP exchange beyond Verify: the methods its
// senders use, and the challenge its 401 carries.

// GETAcceptor is implemented by providers whose senders may deliver with
// GET (Gitea's "HTTP method: GET"). Intake answers 405 to a GET for the
// others.
type GETAcceptor interface {
	AcceptsGET()
}

// AcceptsGET reports whether p's senders may deliver with GET.
func AcceptsGET(p Provider) bool {
	_, ok := p.(GETAcceptor)
	return ok
}

// HEADAcceptor is implemented by providers whose senders check the URL
// with a HEAD request before they deliver to it (Intercom): Greet answers
// that HEAD. Intake answers 405 to a HEAD for the others, except where it
// takes GET, since HEAD goes wherever GET does (RFC 9110 §9.3.2).
type HEADAcceptor interface {
	AcceptsHEAD()
}

// AcceptsHEAD reports whether a source of p takes HEAD requests: its
// senders send one, or it takes GET.
func AcceptsHEAD(p Provider) bool {
	_, ok := p.(HEADAcceptor)
	return ok || AcceptsGET(p)
}

// AuthChallenger is implemented by providers of an HTTP authentication
// scheme (RFC 9110 §11), whose 401 must carry a challenge (RFC 7235
// §3.1): some senders send credentials only once challenged (Twilio with
// https://user:pass@host/ URLs, Java's and .NET's credential providers).
// WWWAuthenticate returns the WWW-Authenticate value for a refusal of a
// request to the source named source.
type AuthChallenger interface {
	WWWAuthenticate(source string) string
}
