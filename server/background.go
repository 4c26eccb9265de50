package server

import (
	"context"
	"time"
)

// Background work (the retention loop, the sweeps of expired reporter and
// staff sessions and of unused uploads, the notification rounds) runs
// under one context that Shutdown cancels, and Shutdown waits for it to
// end, so that none of it touches the database after the caller closes it.
//
// Several instances may run against one PostgreSQL database, each with the
// same background work. What must not run twice at once (retention, the
// notification round, the upload sweeps) runs under exclusive: one
// instance at a time does it, and another that finds it under way skips
// its turn; if the instance doing it dies, its lock goes with its
// database connection and the next turn of any other takes it over
// (storage.DB.Exclusive). The session sweeps need no lock: each deletes
// what has expired, which deleting twice leaves the same.

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

// exclusive returns fn to run under the database-wide lock named name
// (storage.DB.Exclusive), skipped when another instance holds it.
func (s *Server) exclusive(name string, fn func(ctx context.Context)) func(ctx context.Context) {
	return func(ctx context.Context) {
		ran, err := s.db.Exclusive(ctx, name, func(ctx context.Context) error {
			fn(ctx)
			return nil
		})
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("failed to take the lock of background work", "work", name, "err", err)
		case err == nil && !ran:
			s.log.Debug("background work skipped: another instance is doing it", "work", name)
		}
	}
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
