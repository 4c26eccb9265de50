package server

import (
	"fmt"
	"os"
	"testing"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/internal/testbin"
)

// cleanerPath is the process the test servers start to clean a PDF or
// Office file, as candour serve starts itself (see testbin).
var cleanerPath string

// TestMain builds the cleaning process, and runs the tests through
// pgtest.Main, which stops the PostgreSQL cluster that tests on PostgreSQL
// (CANDOUR_TEST_ENGINE=postgres) start.
func TestMain(m *testing.M) {
	path, remove, err := testbin.BuildCleaner()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cleanerPath = path
	code := pgtest.Main(m)
	remove()
	os.Exit(code)
}
