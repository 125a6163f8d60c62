package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProviderIsPureGo builds the provider without cgo, as users install
// it on any machine: the embedded SQL engine the sandbox links (DuckDB,
// through cgo) must never reach it.
func TestProviderIsPureGo(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	build := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "terraform-provider-opsaudit"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build .: %v\n%s", err, out)
	}
	deps, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps .: %v", err)
	}
	for _, dep := range strings.Fields(string(deps)) {
		if strings.Contains(dep, "duckdb") || strings.HasSuffix(dep, "/internal/sandbox") || strings.Contains(dep, "/internal/sandbox/") {
			t.Errorf("the provider imports %s", dep)
		}
	}
}
