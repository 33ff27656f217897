package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{name: "first line of stdin", stdin: "correct horse\nignored\n", args: []string{"-cost", "4"}},
		{name: "no newline", stdin: "correct horse", args: []string{"-cost", "4"}},
		{name: "empty", stdin: "\n", code: 1, stderr: "the password is empty"},
		{name: "too long for bcrypt", stdin: strings.Repeat("x", 73), code: 1, stderr: "longer than 72 bytes"},
		{name: "password as an argument", stdin: "", args: []string{"correct horse"}, code: 2, stderr: "never from the command line"},
		{name: "bad cost", stdin: "x", args: []string{"-cost", "99"}, code: 2, stderr: "-cost must be from 4 to 31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), append([]string{"hash-password"}, tc.args...), strings.NewReader(tc.stdin), &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.stderr) {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
			if code != 0 {
				return
			}
			hash := strings.TrimSpace(out.String())
			if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
				t.Fatalf("%q: %v", hash, err)
			}
			if c, _ := bcrypt.Cost([]byte(hash)); c != 4 {
				t.Fatalf("cost %d", c)
			}
		})
	}
}
