package server_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candour/candour/server"
)

func TestShutdownWaitsForBackgroundWork(t *testing.T) {
	ts := startServer(t, nil)
	if n := server.BackgroundRunning(ts.Srv); n != 5 {
		t.Fatalf("%d background goroutines before Shutdown, want 5 (retention, two session sweeps, staff upload sweep, refusal log)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := server.BackgroundRunning(ts.Srv); n != 0 {
		t.Fatalf("%d background goroutines still running after Shutdown", n)
	}
	// Closing the database now is safe: nothing in the background uses it.
	if err := ts.DB.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownWaitsForBackgroundWorkWhileAnUploadIsInFlight shuts down
// while an upload is still being sent, with a deadline that the upload
// uses up, and background work that takes a moment to end: Shutdown must
// still wait for the background work, since the caller closes the
// database next.
func TestShutdownWaitsForBackgroundWorkWhileAnUploadIsInFlight(t *testing.T) {
	ts := startServer(t, nil)
	var finished atomic.Bool
	server.StartBackground(ts.Srv, func(ctx context.Context) {
		<-ctx.Done()
		time.Sleep(500 * time.Millisecond) // a last short piece of database work
		finished.Store(true)
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	must(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"+
		"Content-Length: 1000000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n%s",
		strings.Repeat("x", 20<<10))
	time.Sleep(200 * time.Millisecond) // the handler is reading the body
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ts.Srv.Shutdown(ctx) // the upload does not end in time: an error
	if !finished.Load() || server.BackgroundRunning(ts.Srv) != 0 {
		t.Fatal("Shutdown returned while background work was still running")
	}
}
