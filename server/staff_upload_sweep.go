package server

import (
	"context"
	"time"
)

// staffUploadMaxAge bounds how long a staff upload that no reply names
// stays pending. The console uploads a reply's files just before sending
// it, so a day is far longer than any reply takes to send; an upload still
// being received is never swept (it has no finish time yet).
const staffUploadMaxAge = 24 * time.Hour

// SweepStaffUploads deletes staff uploads received whole more than
// staffUploadMaxAge ago that no reply names, and returns how many. It runs
// hourly; tests may call it directly.
func (s *Server) SweepStaffUploads(ctx context.Context) (int64, error) {
	return s.db.DeleteStalePending(ctx, s.db.Now().Add(-staffUploadMaxAge))
}

// uploadSweep is the hourly sweep of uploads no message will name, run
// under the lock "upload sweep" (server.go New: exclusive): staff uploads
// never used in a reply, and on PostgreSQL the reporter uploads of
// instances that died mid-upload (storage.DB.SweepDeadInstances, which
// OpenPostgres also runs at start). First it makes sure this instance
// still holds its own registration, and registers again if its lock
// connection broke, loudly: uploads it was receiving may have been swept,
// and those requests failed.
func (s *Server) uploadSweep(ctx context.Context) {
	if again, err := s.db.CheckInstance(ctx); err != nil {
		if ctx.Err() == nil {
			s.log.Error("failed to check this instance's registration", "err", err)
		}
	} else if again {
		s.log.Warn("this instance lost its database lock and registered again; uploads it was receiving may have failed",
			"instance", s.db.InstanceID())
	}
	s.staffUploadSweep(ctx)
	n, err := s.db.SweepDeadInstances(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("failed to sweep the uploads of instances that stopped", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Info("deleted unfinished uploads of instances that stopped", "count", n)
	}
}

func (s *Server) staffUploadSweep(ctx context.Context) {
	n, err := s.SweepStaffUploads(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("failed to sweep unused staff uploads", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Info("deleted staff uploads never used in a reply", "count", n)
	}
}
