package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLicenceName(t *testing.T) {
	mit := "Permission is hereby granted, free of charge, to any person"
	bsd2 := "Redistribution and use in source and binary forms, with or without"
	bsd3 := bsd2 + "\nNeither the name of Google Inc. nor the names of its"
	apache := "Apache License\n Version 2.0, January 2004"
	for _, tc := range []struct{ text, want string }{
		{mit, "Expat"},
		{bsd2, "BSD-2-Clause"},
		{bsd3, "BSD-3-Clause"},
		{apache, "Apache-2.0"},
		{"MIT and Apache.\n" + mit + "\n" + apache, "Expat and Apache-2.0"},
		{bsd3 + "\n" + mit + "\n" + apache, "BSD-3-Clause and Expat and Apache-2.0"},
		{"Do what you want.", "other-example-com-m-v1-0-0"},
	} {
		if got := licenceName(tc.text, "example.com/m@v1.0.0"); got != tc.want {
			t.Errorf("licenceName(%.30q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestCommonApache(t *testing.T) {
	full := "                              Apache License\n" +
		"                        Version 2.0, January 2004\n\n" +
		"   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n\n   1. Definitions.\n\n" +
		"   END OF TERMS AND CONDITIONS\n\n   APPENDIX: How to apply the Apache License to your work.\n\n" +
		"   limitations under the License.\n"
	got := commonApache("Files: a/*\n\n" + full + "\n---\nMIT part\n")
	want := "Files: a/*\n\nThe Apache License, Version 2.0: on Debian systems its text is in\n" +
		"/usr/share/common-licenses/Apache-2.0.\n\n---\nMIT part\n"
	if got != want {
		t.Errorf("commonApache:\n%s\nwant:\n%s", got, want)
	}
	// A notice that only names the licence is kept.
	notice := "Licensed under the Apache License, Version 2.0 (the \"License\");\n"
	if got := commonApache(notice); got != notice {
		t.Errorf("commonApache changed a notice: %q", got)
	}
}

func TestIndentAndEscape(t *testing.T) {
	if got, want := indent("a\n\n  b  \n", true), " a\n .\n   b"; got != want {
		t.Errorf("indent = %q, want %q", got, want)
	}
	if got, want := indent("first\nsecond", false), "first\n second"; got != want {
		t.Errorf("indent = %q, want %q", got, want)
	}
	if got, want := escape("github.com/AlekSi/pointer"), "github.com/!alek!si/pointer"; got != want {
		t.Errorf("escape = %q, want %q", got, want)
	}
}

// write reads the binary's own build information: the test binary's.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	head := filepath.Join(dir, "head")
	goroot := filepath.Join(dir, "goroot")
	if err := os.WriteFile(head, []byte("Format: x\n\nFiles: *\nLicense: none-stated\n placeholder\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(goroot, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := write(&b, bin, head, dir, goroot); err == nil || !strings.Contains(err.Error(), "no LICENSE or COPYING file") {
		t.Fatalf("a Go without LICENSE: got %v", err)
	}
	lic := "Copyright 2009 The Go Authors.\n\nRedistribution and use in source and binary forms\nNeither the name of Google\n"
	if err := os.WriteFile(filepath.Join(goroot, "LICENSE"), []byte(lic), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := write(&b, bin, head, dir, goroot); err != nil {
		t.Fatal(err)
	}
	want := "Format: x\n\nFiles: *\nLicense: none-stated\n placeholder\n\n" +
		"Files: go/*\nCopyright: Copyright 2009 The Go Authors.\nLicense: BSD-3-Clause\n" +
		" Copyright 2009 The Go Authors.\n .\n Redistribution and use in source and binary forms\n Neither the name of Google\n" +
		"Comment: The Go standard library and runtime (go"
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("got:\n%s\nwant it to start with:\n%s", b.String(), want)
	}
}
