package verify

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"
)

// none accepts every request: the explicit opt-out. The loader warns about it.
type none struct{}

func init() {
	register("none", Spec{HashIDs: true, New: func(Config) (Provider, error) { return none{}, nil }})
}

func (none) Verify(*Request) error      { return nil }
func (none) DeliveryID(*Request) string { return "" }
func (none) Event(*Request) string      { return "" }
func (none) Sign([]byte, time.Time, Meta) (http.Header, error) {
	return http.Header{"Content-Type": {"application/json"}}, nil
}

// newUUID returns a random RFC 4122 version 4 UUID for `hookd sign`.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
