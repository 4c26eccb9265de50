package server

// BackgroundRunning is how many background goroutines of s are running.
func BackgroundRunning(s *Server) int64 { return s.bgRunning.Load() }

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
