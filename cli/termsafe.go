package cli

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// termSafe wraps w so that control characters other than newline and tab,
// C0, DEL and C1 (ESC, CSI, OSC...), are written as \xNN or \u00NN: what
// hookd prints as text (an action's output, a sender's delivery id, event
// type or headers) comes from outside, and must not move the cursor, set
// the title or the clipboard of the operator's terminal; a byte that is
// not UTF-8 (a lone 0x9b is CSI to an 8-bit terminal) is written \xNN too.
// JSON output escapes them already.
func termSafe(w io.Writer) io.Writer { return safeWriter{w} }

type safeWriter struct{ w io.Writer }

func (s safeWriter) Write(p []byte) (int, error) {
	clean := true
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if unsafeRune(r) || r == utf8.RuneError && n == 1 {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s.w.Write(p)
	}
	out := make([]byte, 0, len(p)+16)
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = fmt.Appendf(out, `\x%02x`, p[i])
		case unsafeRune(r) && r < 0x80:
			out = fmt.Appendf(out, `\x%02x`, r)
		case unsafeRune(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func unsafeRune(r rune) bool {
	return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f
}
