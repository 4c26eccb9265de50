package server

import (
	"os"
	"testing"

	"github.com/candour/candour/internal/testbin"
)

// cleanerPath is the process the test servers start to clean a PDF or
// Office file, as candour serve starts itself (see testbin).
var cleanerPath string

func TestMain(m *testing.M) { os.Exit(testbin.MainWithCleaner(m, &cleanerPath)) }
