//go:build !pprof

package main

import (
	"errors"
	"log/slog"
)

// servePprof refuses: the profiler is built in only with -tags pprof (see
// pprof.go), so that release builds carry neither its code nor its memory.
func servePprof(string, *slog.Logger) error {
	return errors.New("--pprof-addr needs a build with -tags pprof (for benchmarking only)")
}
