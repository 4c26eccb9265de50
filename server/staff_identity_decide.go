package server

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// identityRequestOf resolves the :id of a request route for a custodian
// who may decide it: one who may read the case's identity details and is
// not the requester. To anyone else it does not exist.
func (s *Server) identityRequestOf(c *fiber.Ctx) (storage.IdentityRequest, storage.Case, error) {
	me := staffOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 || !me.Custodian {
		return storage.IdentityRequest{}, storage.Case{}, errNotFound
	}
	ctx := c.UserContext()
	r, err := s.db.IdentityRequestByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return r, storage.Case{}, errNotFound
	}
	if err != nil {
		return r, storage.Case{}, err
	}
	cs, err := s.custodianCase(c, r.CaseRef)
	if err != nil {
		return r, cs, err
	}
	if r.StaffID == me.ID {
		return r, cs, staffBadRequest("You cannot decide your own request: another custodian must.")
	}
	if r.State != storage.IdentityRequested {
		return r, cs, errIdentityDecided
	}
	return r, cs, nil
}

var errIdentityDecided = staffBadRequest("This request was already decided. Nothing was changed.")
