package rules

import (
	"reflect"
	"testing"
)

func TestFileRefs(t *testing.T) {
	src := "a: ${file:secrets/gitlab}\nb: ${file:/run/s/x}\nc: $${file:not}\nd: ${credential:c}\ne: ${VAR}\nf: ${file:\n"
	got := FileRefs("/etc/hookd/rules.d/gitlab.yaml", []byte(src))
	want := []string{"/etc/hookd/rules.d/secrets/gitlab", "/run/s/x"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FileRefs = %q, want %q", got, want)
	}
}
