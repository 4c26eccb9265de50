package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/candour/candour/server"
)

func TestShutdownWaitsForBackgroundWork(t *testing.T) {
	ts := startServer(t, nil)
	if n := server.BackgroundRunning(ts.Srv); n != 4 {
		t.Fatalf("%d background goroutines before Shutdown, want 4 (retention, two session sweeps, refusal log)", n)
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
