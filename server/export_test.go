package server

import "context"

// BackgroundRunning is how many background goroutines of s are running.
func BackgroundRunning(s *Server) int64 { return s.bgRunning.Load() }

// StartBackground runs fn as background work of s, as New does its own.
func StartBackground(s *Server, fn func(ctx context.Context)) { s.background("test", fn) }
