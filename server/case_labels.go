package server

import "github.com/candour/candour/storage"

// statusLabels is how each case status reads in the staff console.
var statusLabels = map[string]string{
	storage.StatusNew:              "New",
	storage.StatusInReview:         "In review",
	storage.StatusAwaitingReporter: "Waiting for the reporter",
	storage.StatusReferred:         "Referred",
	storage.StatusClosed:           "Closed",
}

// statusOption is one choice of a status select.
type statusOption struct {
	Value, Label string
}

// statusOptions are the statuses as select choices; closed only if
// withClosed (a case is closed with an outcome, not from the status select).
func statusOptions(withClosed bool) []statusOption {
	var out []statusOption
	for _, st := range caseStatuses {
		if st == storage.StatusClosed && !withClosed {
			continue
		}
		out = append(out, statusOption{st, statusLabels[st]})
	}
	return out
}
