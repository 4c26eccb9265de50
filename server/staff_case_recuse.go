package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// maxRecusalReason bounds the reason given for a conflict of interest.
const maxRecusalReason = 500

// handleStaffCaseRecuse answers POST /staff/case/:ref/recuse: records a
// declared conflict of interest, with its reason in the audit trail. The
// staff member named ("staff": themselves by default; anyone, if the one
// asking is an administrator) no longer gets the case's inbox row, page or
// ciphertext. Their own declaration takes them back to the inbox, since
// the case is no longer theirs to see.
//
// This keeps the server from giving them the case; it does not stop a
// member of the case's channel from decrypting a copy of its ciphertext
// obtained some other way (see SECURITY.md: exclusion from a channel does).
func (s *Server) handleStaffCaseRecuse(c *fiber.Ctx) error {
	cs, me := staffCaseOf(c), staffOf(c)
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	id := me.ID
	if v := form.Get("staff"); v != "" {
		if id, err = strconv.ParseInt(v, 10, 64); err != nil {
			return staffBadRequest("Unknown staff member.")
		}
	}
	if id != me.ID && me.Role != storage.RoleAdmin {
		return errForbidden
	}
	reason := strings.TrimSpace(form.Get("reason"))
	if reason == "" || utf8.RuneCountInString(reason) > maxRecusalReason || !utf8.ValidString(reason) {
		return staffBadRequest("Give the reason for the conflict of interest, in at most %d characters.", maxRecusalReason)
	}
	st, err := s.db.StaffByID(c.UserContext(), id)
	if err != nil {
		return staffBadRequest("Unknown staff member.")
	}
	e := storage.AuditEntry{Actor: me.Username, Action: "case.recuse", Target: cs.Ref, Detail: st.Username + ": " + reason}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.RecuseFromCase(ctx, cs.ID, id, reason)
	}); err != nil {
		return err
	}
	if id == me.ID {
		return c.Redirect("/staff/", http.StatusSeeOther)
	}
	return c.Redirect("/staff/case/"+cs.Ref, http.StatusSeeOther)
}
