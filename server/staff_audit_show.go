package server

import (
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type auditPage struct {
	Entries  []storage.AuditEntry
	Page     int
	Pages    int
	PrevPage int
	NextPage int
	Verified string
	// Reporter activity: counts per day only, never in the timed trail.
	Reporter []storage.ReporterCount
}

// handleStaffAudit answers GET /staff/admin/audit: shows the audit trail, a
// page at a time, and whether its hash chain is intact.
func (s *Server) handleStaffAudit(c *fiber.Ctx) error {
	page := askedPage(c)
	ctx := c.UserContext()
	entries, total, err := s.db.AuditPage(ctx, (page-1)*inboxPageSize, inboxPageSize)
	if err != nil {
		return err
	}
	if page > pageCount(total) {
		page = pageCount(total)
		if entries, total, err = s.db.AuditPage(ctx, (page-1)*inboxPageSize, inboxPageSize); err != nil {
			return err
		}
	}
	verified := "The chain of entries is intact."
	if verr := s.db.VerifyAudit(ctx); verr != nil {
		verified = fmt.Sprintf("WARNING: the audit trail has been tampered with: %v", verr)
	}
	reporter, err := s.db.ReporterActivity(ctx, 31)
	if err != nil {
		return err
	}
	pages := pageCount(total)
	return s.renderStaff(c, http.StatusOK, "staff_audit", "Audit trail", auditPage{
		Entries: entries, Page: page, Pages: pages, PrevPage: page - 1, NextPage: page + 1, Verified: verified,
		Reporter: reporter,
	})
}
