package server

import (
	"context"
	"net/url"
	"strconv"

	"github.com/candour/candour/storage"
)

// assign answers POST /staff/case/:ref/assign: assigns a case to a staff
// member, or to no one (through changeCase).
func (s *Server) assign(ctx context.Context, cs storage.Case, form url.Values) (string, string, error) {
	id, err := strconv.ParseInt(form.Get("assignee"), 10, 64)
	if err != nil || id < 0 {
		return "", "", staffBadRequest("Unknown staff member.")
	}
	target := "no one"
	if id != 0 {
		st, err := s.db.StaffByID(ctx, id)
		if err != nil || st.Disabled || st.Role == storage.RoleStatistics {
			return "", "", staffBadRequest("Unknown staff member.")
		}
		target = st.Username
	}
	return "case.assign", "to " + target, s.db.AssignCase(ctx, cs.ID, id)
}
