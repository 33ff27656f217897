package cli

import (
	"fmt"
	"io"
)

func cmdSign(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "hookd: sign is not available in this build")
	return 1
}
