package server

// BackgroundRunning is how many background goroutines of s are running.
func BackgroundRunning(s *Server) int64 { return s.bgRunning.Load() }
