// Command packaging builds hookd's Debian package with nfpm, used as a
// library so that hookd's own module does not depend on it.
//
//	go run . -config nfpm.yaml -target ../dist
//
// nfpm.yaml reads ${HOOKD_ARCH}, ${HOOKD_VERSION}, ${HOOKD_BIN},
// ${HOOKD_UNITS} and ${HOOKD_GEN} from the environment; packaging/build
// sets them. Paths in nfpm.yaml are relative to the working directory, the
// repository root. It prints the path of the package it wrote.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
)

func main() {
	config := flag.String("config", "packaging/nfpm.yaml", "nfpm configuration `file`")
	target := flag.String("target", "dist", "`directory` the package is written to")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "packaging: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	path, err := build(*config, *target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

// build writes the .deb that config describes into target, named as
// Debian names packages (hookd_<version>_<arch>.deb), and returns its path.
func build(config, target string) (string, error) {
	missing := ""
	cfg, err := nfpm.ParseFileWithEnvMapping(config, func(name string) string {
		// nfpm asks for its own variables too (NFPM_DEB_PASSPHRASE...).
		v := os.Getenv(name)
		if v == "" && strings.HasPrefix(name, "HOOKD_") {
			missing = name
		}
		return v
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	if missing != "" {
		return "", fmt.Errorf("%s: $%s is not set (packaging/build sets it)", config, missing)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	path := filepath.Join(target, deb.Default.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}
