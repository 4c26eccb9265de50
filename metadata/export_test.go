package metadata

// Work returns the steps that cleaning counted (see Result.work), so that
// tests can prove work linear or bounded by counting it, never by timing.
func Work(r Result) int { return r.work }
