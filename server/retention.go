package server

import (
	"context"
	"errors"
	"time"

	"github.com/candour/candour/storage"
)

// RunRetention deletes every closed case past its retention that is not on
// legal hold, and returns how many it deleted. It runs hourly; tests and
// operators may call it directly.
func (s *Server) RunRetention(ctx context.Context) (int, error) {
	expired, err := s.db.ExpiredCases(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, cs := range expired {
		if err := s.deleteCase(ctx, cs, storage.ActorSystem, "case.deleted", "retention period after closure ended"); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// deleteCase deletes a case for good, ends its reporter's sessions and
// records who did it. A checkpoint held back by readers is not a failure:
// the data is deleted, and the next checkpoint completes the job.
func (s *Server) deleteCase(ctx context.Context, cs storage.Case, actor, action, detail string) error {
	if err := s.db.DeleteCase(ctx, cs.ID); err != nil && !errors.Is(err, storage.ErrCheckpointBusy) {
		return err
	}
	s.sessions.removeCase(cs.ID)
	return s.audit(ctx, actor, action, cs.Ref, detail)
}

func (s *Server) retentionLoop() {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.RunRetention(context.Background()); err != nil {
			s.log.Error("retention run failed", "err", err)
		} else if n > 0 {
			s.log.Info("retention deleted expired cases", "count", n)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}
