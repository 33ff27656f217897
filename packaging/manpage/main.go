// Command manpage writes hookd(1), the manual page the Debian package
// installs, from what the hookd binary itself prints: `hookd help` for the
// verbs and `hookd VERB -h` for each verb's text and flags, so that the page
// says what the binary does.
//
//	manpage -hookd PATH -version V -date YYYY-MM-DD >hookd.1
//
// packaging/build runs it (with a binary for the machine it builds on) and
// gzips the page into /usr/share/man/man1/hookd.1.gz.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

func main() {
	hookd := flag.String("hookd", "", "hookd `binary` to read the usage from (required)")
	version := flag.String("version", "", "`version` named in the page's footer (required)")
	date := flag.String("date", "", "the page's `date`, YYYY-MM-DD (required)")
	flag.Parse()
	if *hookd == "" || *version == "" || *date == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: manpage -hookd PATH -version V -date YYYY-MM-DD")
		os.Exit(2)
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(*hookd, args...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s %s: %v\n%s", *hookd, strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	var page bytes.Buffer
	if err := write(&page, run, *version, *date); err != nil {
		fmt.Fprintln(os.Stderr, "manpage:", err)
		os.Exit(1)
	}
	os.Stdout.Write(page.Bytes())
}

// verbLine is one line of `hookd help`'s Usage block:
// "  hookd VERB ARGS   what it does".
var verbLine = regexp.MustCompile(`^  hookd (\S+)(.*?)\s{2,}(\S.*)$`)

type verb struct{ name, synopsis, summary string }

// parseHelp splits `hookd help` into its first line, the verbs and the
// paragraphs after the Usage block.
func parseHelp(help string) (intro string, verbs []verb, after string, err error) {
	lines := strings.Split(strings.TrimRight(help, "\n"), "\n")
	intro = lines[0]
	i := 1
	for i < len(lines) && lines[i] != "Usage:" {
		i++
	}
	for i++; i < len(lines); i++ {
		m := verbLine.FindStringSubmatch(lines[i])
		if m == nil {
			break
		}
		verbs = append(verbs, verb{m[1], "hookd " + m[1] + strings.TrimRight(m[2], " "), m[3]})
	}
	if len(verbs) == 0 {
		return "", nil, "", fmt.Errorf("hookd help: no verbs in its Usage block:\n%s", help)
	}
	return intro, verbs, strings.Join(lines[i:], "\n"), nil
}

type flagDoc struct{ name, arg, text string }

// parseVerbHelp splits `hookd VERB -h` into its description and flags.
func parseVerbHelp(out string) (desc string, flags []flagDoc, err error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "usage: ") {
		return "", nil, fmt.Errorf("no usage: line in:\n%s", out)
	}
	i := 1
	var d []string
	for ; i < len(lines) && lines[i] != "flags:"; i++ {
		d = append(d, lines[i])
	}
	for i++; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "    \t") && len(flags) > 0:
			f := &flags[len(flags)-1]
			f.text = strings.TrimSpace(f.text + " " + strings.TrimPrefix(l, "    \t"))
		case strings.HasPrefix(l, "  -"):
			head, text, _ := strings.Cut(strings.TrimPrefix(l, "  -"), "\t")
			name, arg, _ := strings.Cut(strings.TrimSpace(head), " ")
			flags = append(flags, flagDoc{name, arg, text})
		case strings.TrimSpace(l) == "":
		default:
			return "", nil, fmt.Errorf("unexpected line %q among the flags of:\n%s", l, out)
		}
	}
	return strings.Trim(strings.Join(d, "\n"), "\n"), flags, nil
}

// write renders the page; run runs the hookd binary with arguments.
func write(w io.Writer, run func(...string) (string, error), version, date string) error {
	help, err := run("help")
	if err != nil {
		return err
	}
	intro, verbs, after, err := parseHelp(help)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, ".\\\" hookd(1), written by packaging/manpage from `hookd help` and `hookd VERB -h`.\n")
	fmt.Fprintf(w, ".TH HOOKD 1 %s %s \"User Commands\"\n", arg(date), arg("hookd "+version))
	fmt.Fprintf(w, ".SH NAME\nhookd \\- webhook receiver that runs actions from rules\n")
	fmt.Fprintf(w, ".SH SYNOPSIS\n.nf\n")
	for _, v := range verbs {
		fmt.Fprintln(w, text(v.synopsis))
	}
	fmt.Fprintf(w, ".fi\n.SH DESCRIPTION\n")
	paragraphs(w, intro+" "+description+"\n\n"+after)
	fmt.Fprintf(w, ".SH COMMANDS\n")
	for _, v := range verbs {
		fmt.Fprintf(w, ".SS %s\n", arg(v.synopsis))
		desc, flags := v.summary, []flagDoc(nil)
		if v.name != "version" { // `hookd version -h` prints the version
			out, err := run(v.name, "-h")
			if err != nil {
				return err
			}
			if desc, flags, err = parseVerbHelp(out); err != nil {
				return fmt.Errorf("hookd %s -h: %w", v.name, err)
			}
		}
		paragraphs(w, desc)
		for _, f := range flags {
			if f.arg == "" {
				fmt.Fprintf(w, ".TP\n.B \\-%s\n", text(f.name))
			} else {
				fmt.Fprintf(w, ".TP\n.BI \\-%s \" %s\"\n", text(f.name), text(f.arg))
			}
			fmt.Fprintf(w, "%s\n", text(f.text))
		}
	}
	fmt.Fprint(w, files)
	return nil
}

// description follows the first line of `hookd help` in DESCRIPTION.
const description = `It verifies webhooks (GitHub, Stripe, Shopify, Slack and others),
records them durably, de-duplicates them by delivery id, matches them
against rules written as expr-lang expressions, and runs the rules'
actions: shell commands, HTTP calls, Slack posts.`

// files ends the page: what the Debian package installs.
const files = `.SH FILES
.TP
.I /etc/hookd/hookd.yaml
The configuration hookd.service gives to serve (-config).
.TP
.I /etc/hookd/rules.d/
The rules files: serve runs nothing until one declares a source.
.TP
.I /var/lib/hookd/
The event database and the admin socket; the hookd user's home.
.TP
.I /var/backups/hookd/
Where hookd\-backup.timer keeps the nightly copies of the database.
.TP
.I /usr/lib/systemd/system/hookd.service
The service; with hookd.socket, hookd\-backup.service and hookd\-backup.timer.
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1),
and the manual,
.IR /usr/share/doc/hookd/README.md .
`

// paragraphs writes blank-line separated paragraphs; one indented by four
// spaces (an example) is kept as it is.
func paragraphs(w io.Writer, s string) {
	for _, p := range strings.Split(strings.Trim(s, "\n"), "\n\n") {
		p = strings.Trim(p, "\n")
		if p == "" {
			continue
		}
		if strings.HasPrefix(p, "    ") {
			fmt.Fprintf(w, ".PP\n.RS 4\n.nf\n")
			for _, l := range strings.Split(p, "\n") {
				fmt.Fprintln(w, text(strings.TrimPrefix(l, "    ")))
			}
			fmt.Fprintf(w, ".fi\n.RE\n")
			continue
		}
		fmt.Fprintf(w, ".PP\n%s\n", text(p))
	}
}

// text escapes s for roff: backslashes, hyphen-minus signs (flags are
// typed with them) and a control character at the start of a line.
func text(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// arg is s as one quoted macro argument.
func arg(s string) string {
	return `"` + strings.ReplaceAll(text(s), `"`, `\(dq`) + `"`
}
