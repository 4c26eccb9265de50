//go:build pprof

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/pprof"
	"strconv"
	"time"
)

// servePprof serves Go's profiler on addr, for benchmarking only
// (cmd/candour-bench --pprof, docs/benchmarks.md). It is built in only with
// -tags pprof (it would add about 1 MiB to the resident memory of every
// candour command), is off unless --pprof-addr is given, and refuses any
// address that is not loopback: a profile shows what the server is doing,
// and a goroutine dump may hold request data. Its handlers are on their own
// mux and listener, never on the service's.
//
//	/debug/pprof/profile?seconds=N   CPU profile for N seconds (default 30)
//	/debug/pprof/NAME                heap, allocs, goroutine, mutex, block…
func servePprof(addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid --pprof-addr: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return errors.New("--pprof-addr must be a loopback address such as 127.0.0.1:6060")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || secs <= 0 {
			secs = 30
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := pprof.StartCPUProfile(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-r.Context().Done():
		}
		pprof.StopCPUProfile()
	})
	mux.HandleFunc("GET /debug/pprof/{name}", func(w http.ResponseWriter, r *http.Request) {
		p := pprof.Lookup(r.PathValue("name"))
		if p == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		p.WriteTo(w, 0)
	})
	log.Warn("profiler listening: for benchmarking only", "addr", ln.Addr().String())
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	return nil
}
