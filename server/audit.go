package server

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// staffNetwork adds the client's address to a staff login's audit detail
// when the operator opted in with AuditStaffNetwork; by default the audit
// trail holds no network data. Reporter requests never come here.
func (s *Server) staffNetwork(c *fiber.Ctx, detail string) string {
	if !s.cfg.AuditStaffNetwork {
		return detail
	}
	addr, ok := s.clientAddr(c)
	if !ok {
		return detail
	}
	if detail == "" {
		return "from " + addr.String()
	}
	return detail + ", from " + addr.String()
}

// audit appends to the hash-chained audit trail an entry that records no
// change of state of its own (a download, a refused login under a name with
// no usable account). An entry that records a change is written with it,
// in one transaction, by storage.DB.Change. Neither ever records report
// content, nor network data unless the operator opted in (staffNetwork).
func (s *Server) audit(ctx context.Context, actor, action, target, detail string) error {
	_, err := s.db.AppendAudit(ctx, storage.AuditEntry{Actor: actor, Action: action, Target: target, Detail: detail})
	return err
}
