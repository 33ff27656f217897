package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// cmdHashPassword prints the bcrypt hash of a password, for ui.users in
// hookd.yaml. The password comes from stdin: typed without echo, twice,
// on a terminal; otherwise its first line.
func cmdHashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("hash-password", stdout, stderr)
	cost := fs.Int("cost", bcrypt.DefaultCost, "the bcrypt `cost` (4 to 31; each step doubles the work)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hookd hash-password: unexpected argument %q: the password is read from stdin, never from the command line\n", fs.Arg(0))
		return 2
	}
	if *cost < bcrypt.MinCost || *cost > bcrypt.MaxCost {
		fmt.Fprintf(stderr, "hookd hash-password: -cost must be from %d to %d\n", bcrypt.MinCost, bcrypt.MaxCost)
		return 2
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "hookd hash-password:", err)
		return 1
	}
	hash, err := bcrypt.GenerateFromPassword(pw, *cost)
	if err != nil {
		fmt.Fprintln(stderr, "hookd hash-password:", err)
		return 1
	}
	fmt.Fprintln(stdout, string(hash))
	return 0
}

func readPassword(stdin io.Reader, stderr io.Writer) ([]byte, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		if string(pw) != string(again) {
			return nil, errors.New("the passwords differ")
		}
		return checkPassword(pw)
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, err
	}
	return checkPassword([]byte(strings.TrimRight(line, "\r\n")))
}

func checkPassword(pw []byte) ([]byte, error) {
	switch {
	case len(pw) == 0:
		return nil, errors.New("the password is empty")
	case len(pw) > 72:
		return nil, errors.New("the password is longer than 72 bytes, which bcrypt cannot hash")
	}
	return pw, nil
}
