package pgstore

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CheckURL parses a connection URL as Open does (pgx's own parser, which
// also reads the files it names, such as sslrootcert), without connecting.
// The error says what is wrong and never quotes the URL nor any part of it
// that may be a password, so that it can go to a terminal or a log as is.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	// A / in the user or password ends the host part early: in
	// postgres://hookd:p@ss/w@db/hookd the password is "p", the host "ss",
	// and the rest a path holding the @ that was meant to end the password.
	// The driver would take it so and name the wrong host; refusing any @
	// left in the path says what went wrong before a part of the password
	// reaches a message.
	if err == nil && strings.Contains(u.EscapedPath(), "@") {
		return errors.New("has an @ after its host: a / or @ in the user or password must be percent-encoded (%2F, %40), " +
			"and an @ in the database name too (%40)")
	}
	// pgx, as libpq, ignores sslmode on a unix socket; a typo there is
	// still a typo, and would be taken when the host changes.
	if err == nil && u.Query().Has("sslmode") {
		if m := u.Query().Get("sslmode"); !slices.Contains(sslModes, m) {
			return fmt.Errorf("sslmode must be one of %s, not %q", strings.Join(sslModes, ", "), m)
		}
	}
	if _, err := pgxpool.ParseConfig(raw); err != nil {
		return errors.New(parseReason(raw, err))
	}
	return nil
}

var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// parseReason is pgx's parse error without the connection string it
// quotes: pgx masks the password there, but only as far as it can tell
// where a password is in a string that did not parse.
func parseReason(raw string, err error) string {
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		quoted := pgconn.NewParseConfigError(pce.ConnString, "", nil).Error() // "cannot parse `…`: "
		msg = strings.TrimPrefix(msg, quoted)
		if inner := pce.Unwrap(); inner != nil {
			var ue *url.Error // net/url quotes the URL, or the part it stopped at
			if errors.As(inner, &ue) {
				msg = strings.Replace(msg, " ("+inner.Error()+")", "", 1)
			}
		}
	}
	for _, secret := range []string{raw, passwordOf(raw)} {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "xxxxx")
		}
	}
	if u, perr := url.Parse(raw); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
		if pw := u.Query().Get("password"); pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}
