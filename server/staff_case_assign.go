package server

import (
	"context"
	"net/url"
	"strconv"

	"github.com/candour/candour/storage"
)

// assign answers POST /staff/case/:ref/assign: assigns a case to a staff
// member who may see it (a member of its channel, not recused), or to no
// one (through changeCase): a case is never handed to someone who could
// not read it.
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
		ok, err := s.db.CanSeeCase(ctx, cs, id)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", "", staffBadRequest("That staff member cannot see this case (not in its channel, or recused from it): assign it to a member of its channel.")
		}
		target = st.Username
	}
	return "case.assign", "to " + target, s.db.AssignCase(ctx, cs.ID, id)
}
