package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// staffUploadOwner binds a staff member's pending upload to the case and the
// uploader: only their reply on that case can link it.
func staffUploadOwner(caseID, staffID int64) string {
	return fmt.Sprintf("staff:%d:case:%d", staffID, caseID)
}

// ageMagic begins every binary age file. The server cannot decrypt what
// staff upload, but it refuses anything that is not even shaped like one.
const ageMagic = "age-encryption.org/v1\n"

type staffCaseKey struct{}

// loadStaffCase is the middleware of the /staff/case/:ref group: it
// resolves :ref once for every handler of the group (staffCaseOf), and
// answers an unknown case with 404 before any of the body is read. A case
// of a channel the staff member is not in, or that they are recused from,
// is answered the same way, for every route of the group (page,
// ciphertext, workflow): to them it does not exist.
func (s *Server) loadStaffCase(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cs, err := s.db.CaseByRef(ctx, c.Params("ref"))
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	ok, err := s.db.CanSeeCase(ctx, cs, staffOf(c).ID)
	if err != nil {
		return err
	}
	if !ok {
		return errNotFound
	}
	c.Locals(staffCaseKey{}, cs)
	return c.Next()
}

// staffCaseOf is the case of a request to the /staff/case/:ref group.
func staffCaseOf(c *fiber.Ctx) storage.Case {
	cs, _ := c.Locals(staffCaseKey{}).(storage.Case)
	return cs
}

// caseChange is one workflow change to a case from a small staff form: it
// applies the change with ctx (inside a storage.DB.Change) and returns the
// audit action and detail.
type caseChange func(ctx context.Context, cs storage.Case, form url.Values) (action, detail string, err error)

// changeCase runs a workflow form: resolve the case, check the CSRF token,
// apply the change and its audit entry in one transaction, and go back to
// the case page.
func (s *Server) changeCase(change caseChange) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cs := staffCaseOf(c)
		form, err := s.staffForm(c)
		if err != nil {
			return err
		}
		e := storage.AuditEntry{Actor: staffOf(c).Username, Target: cs.Ref}
		if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
			var err error
			e.Action, e.Detail, err = change(ctx, cs, form)
			return err
		}); err != nil {
			return err
		}
		return c.Redirect("/staff/case/"+cs.Ref, http.StatusSeeOther)
	}
}

// serveCiphertext sends the age file that find returns for the :ref case
// and :id item as a download.
func (s *Server) serveCiphertext(c *fiber.Ctx, kind string, find func(ctx context.Context, caseID, id int64) ([]byte, error)) error {
	cs := staffCaseOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	b, err := find(c.UserContext(), cs.ID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if err := s.audit(c.UserContext(), staffOf(c).Username, kind+".download", cs.Ref, fmt.Sprintf("%s %d", kind, id)); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment",
		map[string]string{"filename": fmt.Sprintf("%s-%s-%d.age", cs.Ref, kind, id)}))
	return c.Send(b)
}

// staffMultipart opens a streamed multipart body whose first part must be
// a valid CSRF token, checked before anything is read further.
func (s *Server) staffMultipart(c *fiber.Ctx) (*partReader, *limitedBody, error) {
	token := staffOf(c).session.CSRF
	return s.openMultipart(c, func(got string) bool { return constantTimeEqual(got, token) }, errCSRFStaff)
}

// staffCaseMultipart returns the request's case and opens a streamed staff
// form, its CSRF token checked first.
func (s *Server) staffCaseMultipart(c *fiber.Ctx) (storage.Case, *partReader, error) {
	mr, _, err := s.staffMultipart(c)
	return staffCaseOf(c), mr, err
}

// readSealed reads a browser-encrypted message or note: an age file of at
// most crypto.MaxMessageSize.
func readSealed(part io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(part, crypto.MaxMessageSize+1))
	if err != nil || len(b) > crypto.MaxMessageSize || !bytes.HasPrefix(b, []byte(ageMagic)) {
		return nil, errors.New("not an age file of acceptable size")
	}
	return b, nil
}

// created answers a stored reply or note: its id to a script, or the case
// page to a browser form.
func created(c *fiber.Ctx, cs storage.Case, id int64) error {
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"id": id})
	}
	return c.Redirect("/staff/case/"+cs.Ref, http.StatusSeeOther)
}

var caseStatuses = []string{storage.StatusNew, storage.StatusInReview, storage.StatusAwaitingReporter,
	storage.StatusReferred, storage.StatusClosed}
