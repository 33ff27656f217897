package verify

import "time"

// Config holds every option a verify block may set. Each provider declares
// which of them it accepts; the loader rejects the others.
type Config struct {
	Provider        string
	Secrets         []string // `secret` and `secrets` together
	Header          string
	Query           string
	Algorithm       string
	Encoding        string
	Prefix          string
	Separator       string
	TimestampHeader string
	Template        string
	Tolerance       time.Duration
	Username        string
	Password        string
	// URL is the URL the sender calls, for schemes that sign it; it may
	// hold {scheme}, {host}, {uri}, {path} and {query} (see urlsigned.go).
	URL string
	// PublicKeys are `public_key` and `public_keys` together, as the sender
	// shows them (hex for Discord, whpk_ for Standard Webhooks, base64 for SendGrid).
	PublicKeys []string
	// VerifyToken is Meta's `verify_token`, a string apart from the secret.
	VerifyToken string
	// PrivateKey is what `hookd sign -private-key` signs with, for schemes
	// with a public key; never a configuration key.
	PrivateKey string
}

// FieldError is a configuration error about one option, so that the loader
// can point at its line and column.
type FieldError struct {
	Field string // the YAML key, e.g. "secret"
	Msg   string
	// Item is 1 + the position of the value the error is about among the
	// field's values (secret and secrets together, public_key and
	// public_keys together), or 0 when it is about the field as a whole.
	Item int
}

// itemError is a FieldError about the i-th value of field.
func itemError(field string, i int, msg string) *FieldError {
	return &FieldError{Field: field, Item: i + 1, Msg: msg}
}

// emptyValue is the error of an empty secret or key: most often a
// variable set to "" in hookd's environment.
func emptyValue(field string, i int) *FieldError {
	return itemError(field, i, field+" is empty (is its environment variable set to a value?)")
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// requireSecrets checks that at least one non-empty secret is configured.
func requireSecrets(c Config) ([][]byte, error) {
	if len(c.Secrets) == 0 {
		return nil, &FieldError{Field: "secret", Msg: "provider " + c.Provider + " needs a secret (or secrets: [...])"}
	}
	keys := make([][]byte, 0, len(c.Secrets))
	for i, s := range c.Secrets {
		if s == "" {
			return nil, emptyValue("secret", i)
		}
		keys = append(keys, []byte(s))
	}
	return keys, nil
}
