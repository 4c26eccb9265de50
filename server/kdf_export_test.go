package server

// KnownKDFSets is how many case-code parameter sets s knows.
func KnownKDFSets(s *Server) int { return len(s.kdfSets.known()) }
