package server

import (
	"context"
	"errors"

	"github.com/candour/candour/storage"
)

// RunRetention deletes every closed case past its retention that is not on
// legal hold, and returns how many it deleted. It runs hourly, on one
// instance at a time (retentionRun); tests and operators may call it
// directly. Two runs at once still delete each case once, with one audit
// entry: the deletion and its entry are one transaction, and a case
// already gone is skipped.
func (s *Server) RunRetention(ctx context.Context) (int, error) {
	expired, err := s.db.ExpiredCases(ctx)
	if err != nil {
		return 0, err
	}
	if s.retentionListed != nil {
		s.retentionListed()
	}
	n := 0
	for _, cs := range expired {
		err := s.deleteCase(ctx, cs, storage.ActorSystem, "case.deleted", "retention period after closure ended",
			s.db.DeleteExpiredCase)
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrNotExpired) {
			// Deleted since the list was read (by staff, or by a run on
			// another instance: its deletion is audited there, once), or
			// no longer expired (put on hold, reopened, its retention
			// lengthened): checked again in the deletion's transaction,
			// so nothing is deleted or audited here.
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// deleteCase deletes a case for good with del (DeleteCase, or
// DeleteExpiredCase for retention) and records who did it, in one
// transaction, and ends its reporter's sessions. A checkpoint held back by
// readers is not a failure: the data is deleted, and the next checkpoint
// completes the job.
func (s *Server) deleteCase(ctx context.Context, cs storage.Case, actor, action, detail string,
	del func(ctx context.Context, caseID int64) error) error {
	e := storage.AuditEntry{Actor: actor, Action: action, Target: cs.Ref, Detail: detail}
	err := s.db.Change(ctx, &e, func(ctx context.Context) error { return del(ctx, cs.ID) })
	if errors.Is(err, storage.ErrNotExpired) {
		return err // nothing deleted: its reporter's sessions go on
	}
	// Whether or not the deletion failed, its sessions end: at worst the
	// reporter logs in again.
	s.sessions.removeCase(ctx, cs.ID)
	if err != nil && !errors.Is(err, storage.ErrCheckpointBusy) {
		return err
	}
	return nil
}

// retentionRun is the hourly background run of RunRetention, under the
// lock "retention" (server.go New: exclusive). A run cut short by Shutdown
// is not a failure: the next start runs it again.
func (s *Server) retentionRun(ctx context.Context) {
	if n, err := s.RunRetention(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("retention run failed", "err", err)
	} else if n > 0 {
		s.log.Info("retention deleted expired cases", "count", n)
	}
}
