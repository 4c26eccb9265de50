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
