package server

import (
	"context"
	"time"
)

// Background work (the retention loop, the sweeps of expired reporter and
// staff sessions and of unused staff uploads) runs under one context that
// Shutdown cancels, and Shutdown waits for it to end, so that none of it
// touches the database after the caller closes it.

// background runs fn in a goroutine under the server's background context.
func (s *Server) background(name string, fn func(ctx context.Context)) {
	s.bg.Add(1)
	s.bgRunning.Add(1)
	go func() {
		defer s.bg.Done()
		defer s.bgRunning.Add(-1)
		fn(s.bgCtx)
		s.log.Debug("background work stopped", "work", name)
	}()
}

// every runs fn every period until ctx ends; first at once if now is set.
func every(ctx context.Context, period time.Duration, now bool, fn func(ctx context.Context)) {
	if now {
		fn(ctx)
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// stopBackground ends the background work and waits for it. It needs no
// deadline: every loop watches its context, and between ticks does only
// short database work (a sweep, one retention pass, a log line), which
// the cancelled context cuts short.
func (s *Server) stopBackground() {
	s.bgCancel()
	s.bg.Wait()
}
