package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

type staffIdentityPage struct {
	Requests []storage.IdentityRequest
	Cases    []identityCaseView
	// KeyProblem says why identity details cannot be encrypted to this
	// custodian's key, if they cannot ("" if they can).
	KeyProblem string
}

// identityCaseView is a case on the custodian's page, with the other
// custodians who may be given a copy of its identity details.
type identityCaseView struct {
	storage.IdentityCase
	Others []storage.Staff
}

// handleStaffIdentity answers GET /staff/identity: the custodian's page.
// It lists the pending requests for access to reporters' identity details
// (case, requester, reason) with Approve (in the browser, with the
// custodian's own key loaded) and Refuse, and the cases whose details the
// custodian may open. Only custodians; to others, 404.
func (s *Server) handleStaffIdentity(c *fiber.Ctx) error {
	me := staffOf(c)
	if !me.Custodian {
		return errNotFound
	}
	ctx := c.UserContext()
	all, err := s.db.IdentityRequests(ctx, storage.IdentityRequested, 0)
	if err != nil {
		return err
	}
	cases, err := s.db.CasesWithIdentity(ctx, me.ID)
	if err != nil {
		return err
	}
	page := staffIdentityPage{}
	visible := map[int64]bool{}
	for _, ic := range cases {
		cs, err := s.db.Case(ctx, ic.CaseID)
		if err != nil {
			return err
		}
		if s.mayHoldIdentity(ctx, cs, me.ID) != nil {
			continue
		}
		visible[ic.CaseID] = true
		v := identityCaseView{IdentityCase: ic}
		custodians, err := s.db.IdentityCustodians(ctx, cs.ChannelID)
		if err != nil {
			return err
		}
		for _, o := range custodians {
			if o.ID != me.ID && s.mayHoldIdentity(ctx, cs, o.ID) == nil {
				v.Others = append(v.Others, o)
			}
		}
		page.Cases = append(page.Cases, v)
	}
	for _, r := range all {
		if visible[r.CaseID] {
			page.Requests = append(page.Requests, r)
		}
	}
	switch rs, err := crypto.ParseRecipientsString(me.AgeRecipient); {
	case me.AgeRecipient == "":
		page.KeyProblem = "You have not registered your own key, so reporters' identity details are not encrypted to you. Register it under \"Your key\"."
	case err != nil || rs.Kind() != s.recipients().Kind():
		page.KeyProblem = "Your registered key is not of the organisation's kind (" + s.recipients().Kind().String() + "), so reporters' identity details are not encrypted to you. Register a key of that kind."
	}
	return s.renderStaff(c, http.StatusOK, "staff_identity", "Identity details", page)
}
