package server

import (
	"context"
	"time"
)

// OnRetentionListed makes RunRetention call f after it has read the list
// of expired cases and before it deletes them.
func OnRetentionListed(s *Server, f func()) { s.retentionListed = f }

// BackgroundRunning is how many background goroutines of s are running.
func BackgroundRunning(s *Server) int64 { return s.bgRunning.Load() }

// HoldCaseKDF takes every case-code derivation slot of s, as a flood of
// logins would, and shortens how long a waiter waits for one to wait.
// release gives the slots back.
func HoldCaseKDF(s *Server, wait time.Duration) (release func()) {
	s.caseKDF.mu.Lock()
	s.caseKDF.wait = wait
	s.caseKDF.mu.Unlock()
	for range s.cfg.KDFConcurrency {
		if err := s.caseKDF.acquire(context.Background(), true); err != nil {
			panic(err)
		}
	}
	return func() {
		for range s.cfg.KDFConcurrency {
			s.caseKDF.release()
		}
	}
}

// FillKeepSlots takes every slot of s for keeping a message without an
// upload slot (message_kept.go). release gives them back.
func FillKeepSlots(s *Server) (release func()) {
	for range cap(s.keeps) {
		s.keeps <- struct{}{}
	}
	return func() {
		for range cap(s.keeps) {
			<-s.keeps
		}
	}
}

// StartBackground runs fn as background work of s, as New does its own.
func StartBackground(s *Server, fn func(ctx context.Context)) { s.background("test", fn) }

// CloseRefusalInterval ends the current interval of refusal counts at once,
// as its boundary would: the counts are logged and published.
func CloseRefusalInterval(s *Server) { s.closeRefusalInterval(s.cfg.RefusalLogInterval) }

// CountRefusalsExactly makes s publish refusal counts unrounded, for tests
// of what is counted.
func CountRefusalsExactly(s *Server) {
	s.refusalLog.mu.Lock()
	defer s.refusalLog.mu.Unlock()
	s.refusalLog.rounding = 1
}

// UploadsInProgress is how many upload slots of s are taken.
func UploadsInProgress(s *Server) int { return len(s.uploads) }

// CleanerPath is the cleaning process built for these tests (main_test.go).
func CleanerPath() string { return cleanerPath }
