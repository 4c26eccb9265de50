// Package testbin builds, for tests, the programs that tests start as
// child processes.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildCleaner builds the process that cleans one file
// (metadata/testdata/cleaner) without the race detector, into a new
// temporary directory, and returns its path and a function that removes
// it. A test binary cannot be that process itself when it is built with
// the race detector: its shadow memory counts against RLIMIT_DATA, the
// memory limit that cleaning processes run under.
func BuildCleaner() (path string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "candour-cleaner-")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "cleaner")
	build := exec.Command("go", "build", "-o", path, "github.com/candour/candour/metadata/testdata/cleaner")
	build.Env = append(os.Environ(), "GOFLAGS=") // never -race
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building the cleaning process: %v\n%s", err, out)
	}
	return path, func() { os.RemoveAll(dir) }, nil
}

// MainWithCleaner is a TestMain body: it builds the cleaning process, sets
// *path to it, runs the tests and removes it, and returns the exit code.
func MainWithCleaner(m *testing.M, path *string) int {
	p, remove, err := BuildCleaner()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	*path = p
	return m.Run()
}
