package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
)

// MainWithBinaries is the body of a TestMain whose tests run programs as a
// user would: it builds each package in bins (a path `go build` takes: "."
// is the package under test, or an import path) into a temporary directory,
// stores the binary's path where the package's pointer points, runs the
// tests and returns their exit code. The directory is removed afterwards.
//
//	func TestMain(m *testing.M) {
//		os.Exit(testutil.MainWithBinaries(m, map[string]*string{".": &bin}))
//	}
func MainWithBinaries(m *testing.M, bins map[string]*string) int {
	dir, err := os.MkdirTemp("", "fogkit-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for pkg, dst := range bins {
		name := path.Base(pkg)
		if pkg == "." {
			wd, err := os.Getwd()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			name = filepath.Base(wd)
		}
		bin := filepath.Join(dir, name)
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			return 1
		}
		*dst = bin
	}
	return m.Run()
}
