// Command copyright writes the Debian package's copyright file: hookd's own
// paragraphs (packaging/deb/copyright), then one for each Go module built
// into the hookd binary and one for the Go standard library, with the
// copyright lines and the licence text each ships, as the licences of the
// code in a static binary ask to be reproduced with it.
//
//	copyright -hookd PATH -head packaging/deb/copyright -modcache DIR -goroot DIR >copyright
//
// packaging/build runs it with `go env GOMODCACHE` and `go env GOROOT`.
package main

import (
	"debug/buildinfo"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

func main() {
	hookd := flag.String("hookd", "", "the hookd `binary` whose modules are listed (required)")
	head := flag.String("head", "", "hookd's own paragraphs, a DEP-5 `file` (required)")
	modcache := flag.String("modcache", "", "the Go module cache `directory` (go env GOMODCACHE)")
	goroot := flag.String("goroot", "", "the Go `directory` the binary was built with (go env GOROOT)")
	flag.Parse()
	if *hookd == "" || *head == "" || *modcache == "" || *goroot == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: copyright -hookd PATH -head FILE -modcache DIR -goroot DIR")
		os.Exit(2)
	}
	if err := write(os.Stdout, *hookd, *head, *modcache, *goroot); err != nil {
		fmt.Fprintln(os.Stderr, "copyright:", err)
		os.Exit(1)
	}
}

func write(w io.Writer, hookd, head, modcache, goroot string) error {
	info, err := buildinfo.ReadFile(hookd)
	if err != nil {
		return err
	}
	own, err := os.ReadFile(head)
	if err != nil {
		return err
	}
	w.Write([]byte(strings.TrimRight(string(own), "\n") + "\n"))
	std, err := licence(goroot)
	if err != nil {
		return fmt.Errorf("the Go standard library: %w", err)
	}
	paragraph(w, "go/*", "The Go standard library and runtime ("+info.GoVersion+").", std)
	for _, dep := range info.Deps {
		m := dep
		if dep.Replace != nil {
			m = dep.Replace
		}
		dir := filepath.Join(modcache, escape(m.Path)+"@"+escape(m.Version))
		l, err := licence(dir)
		if err != nil {
			return fmt.Errorf("module %s %s: %w", m.Path, m.Version, err)
		}
		paragraph(w, m.Path+"/*", "Go module "+m.Path+" "+m.Version+".", l)
	}
	return nil
}

type licenceText struct{ name, text, holders string }

var (
	licenceFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying)(\.txt|\.md)?$`)
	// A copyright notice, not the word in a licence's prose.
	notice = regexp.MustCompile(`(?i)^\s*(?:(?:original|modified) work\s+)?copyright\s+(?:\(c\)|©|\d)`)
)

// licence reads the licence file of the module in dir, its copyright lines
// (from NOTICE too) and names the licence when its text says which.
func licence(dir string) (licenceText, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return licenceText{}, err
	}
	var l licenceText
	var holders []string
	for _, e := range entries {
		name := e.Name()
		isLicence := licenceFile.MatchString(name)
		if !isLicence && !strings.EqualFold(name, "NOTICE") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return l, err
		}
		if isLicence && l.text == "" {
			l.text = string(raw)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if notice.MatchString(line) {
				holders = append(holders, strings.TrimSpace(line))
			}
		}
	}
	if l.text == "" {
		return l, fmt.Errorf("no LICENSE or COPYING file in %s", dir)
	}
	l.name = licenceName(l.text, filepath.Base(dir))
	l.text = commonApache(l.text)
	l.holders = strings.Join(holders, "\n")
	if l.holders == "" {
		l.holders = "its authors (its licence and NOTICE name none)"
	}
	return l, nil
}

// licenceName is the DEP-5 short name of the licence the text says it
// is ("A and B" when it holds several, each for some of the module's
// files), or a name of the module's own when it is none of these.
func licenceName(text, module string) string {
	var names []string
	if strings.Contains(text, "Redistribution and use in source and binary forms") {
		if strings.Contains(text, "Neither the name") || strings.Contains(text, "names of its") {
			names = append(names, "BSD-3-Clause")
		} else {
			names = append(names, "BSD-2-Clause")
		}
	}
	if strings.Contains(text, "Permission is hereby granted, free of charge") {
		names = append(names, "Expat")
	}
	if strings.Contains(text, "Apache License") && strings.Contains(text, "Version 2.0") {
		names = append(names, "Apache-2.0")
	}
	if len(names) > 0 {
		return strings.Join(names, " and ")
	}
	return "other-" + strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return '-'
	}, module)
}

// commonApache replaces the Apache License 2.0's text (with its appendix)
// by where Debian keeps it, as policy 12.5 asks; the rest of the text stays.
func commonApache(text string) string {
	terms := strings.Index(text, "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION")
	end := strings.Index(text, "END OF TERMS AND CONDITIONS")
	start := strings.LastIndex(text[:max(terms, 0)], "Apache License")
	if terms < 0 || end < terms || start < 0 {
		return text
	}
	start = strings.LastIndex(text[:start], "\n") + 1
	end += len("END OF TERMS AND CONDITIONS")
	appendix := "APPENDIX: How to apply the Apache License"
	if rest := text[end:]; strings.HasPrefix(strings.TrimSpace(rest), appendix) {
		const last = "limitations under the License."
		if i := strings.Index(rest, last); i >= 0 {
			end += i + len(last)
		}
	}
	return text[:start] + "The Apache License, Version 2.0: on Debian systems its text is in\n" +
		"/usr/share/common-licenses/Apache-2.0." + text[end:]
}

// paragraph writes a DEP-5 Files paragraph with the licence text in it.
func paragraph(w io.Writer, files, comment string, l licenceText) {
	fmt.Fprintf(w, "\nFiles: %s\nCopyright: %s\nLicense: %s\n%s\nComment: %s Built into /usr/bin/hookd.\n",
		files, indent(l.holders, false), l.name, indent(l.text, true), comment)
}

// indent makes text a DEP-5 continuation: each line after the first (or
// every line, all) starts with a space, an empty one is " .".
func indent(text string, all bool) string {
	lines := strings.Split(strings.Trim(text, "\n"), "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		switch {
		case i == 0 && !all:
			lines[i] = l
		case l == "":
			lines[i] = " ."
		default:
			lines[i] = " " + l
		}
	}
	return strings.Join(lines, "\n")
}

// escape is a module path or version as the module cache spells it: an
// upper-case letter is "!" and the letter in lower case.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
