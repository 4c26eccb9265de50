package server

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// Confidential identity in the console (docs/confidential-identity.md).
// A case's identity details are an age file to its channel's custodians'
// own keys. A custodian (not excluded from the channel, not recused from
// the case) may fetch it; a caseworker asks, with a reason, and a custodian
// approves in their browser (which re-encrypts the details to the
// caseworker's own key and posts that copy, the grant) or refuses. Every
// fetch, request and decision is in the audit trail; the first fetch also
// records the day, which the reporter is shown.

// maxIdentityReason bounds the reason a caseworker gives for access.
const maxIdentityReason = 500

// custodianCase returns the case :ref for a custodian who may read its
// identity details: one not excluded from its channel nor recused from it.
// To anyone else, it does not exist.
func (s *Server) custodianCase(c *fiber.Ctx, ref string) (storage.Case, error) {
	ctx := c.UserContext()
	me := staffOf(c)
	if !me.Custodian {
		return storage.Case{}, errNotFound
	}
	cs, err := s.db.CaseByRef(ctx, ref)
	if errors.Is(err, storage.ErrNotFound) {
		return cs, errNotFound
	}
	if err != nil {
		return cs, err
	}
	if err := s.mayHoldIdentity(ctx, cs, me.ID); err != nil {
		return cs, err
	}
	return cs, nil
}

// mayHoldIdentity checks that a custodian is not excluded from the case's
// channel nor recused from the case.
func (s *Server) mayHoldIdentity(ctx context.Context, cs storage.Case, staff int64) error {
	ok, err := s.db.IsCustodianFor(ctx, cs.ChannelID, staff)
	if err != nil {
		return err
	}
	if !ok {
		return errNotFound
	}
	recusals, err := s.db.CaseRecusals(ctx, cs.ID)
	if err != nil {
		return err
	}
	for _, r := range recusals {
		if r.StaffID == staff {
			return errNotFound
		}
	}
	return nil
}

// serveIdentity sends an identity age file (the custodians' block, or a
// caseworker's grant), after recording in one change that it was opened:
// the audit entry, and the day, if it is the first time.
func (s *Server) serveIdentity(c *fiber.Ctx, cs storage.Case, b []byte, what string) error {
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "identity.open", Target: cs.Ref, Detail: what}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.MarkIdentityOpened(ctx, cs.ID)
	}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment",
		map[string]string{"filename": fmt.Sprintf("%s-identity.age", cs.Ref)}))
	return c.Send(b)
}

// staffCaseIdentity is the identity section of a case page for me; nil if
// the case has no identity details.
func (s *Server) staffCaseIdentity(ctx context.Context, cs storage.Case, me *staffUser) (*staffCaseIdentity, error) {
	if _, err := s.db.CaseIdentity(ctx, cs.ID); errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	v := &staffCaseIdentity{}
	if _, err := s.db.IdentityGrant(ctx, cs.ID, me.ID); err == nil {
		v.Granted = true
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	pending, err := s.db.IdentityRequests(ctx, storage.IdentityRequested, cs.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range pending {
		v.Pending = v.Pending || r.StaffID == me.ID
	}
	if me.Custodian {
		v.Custodian = s.mayHoldIdentity(ctx, cs, me.ID) == nil
	}
	return v, nil
}

// trimmedField is a form value trimmed and bounded, for staff reasons.
func trimmedField(v string, limit int) (string, bool) {
	v = strings.TrimSpace(v)
	return v, v != "" && utf8.ValidString(v) && utf8.RuneCountInString(v) <= limit && plainText(v)
}
