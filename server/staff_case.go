package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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

type staffCaseMessage struct {
	storage.Message
	Staff bool
	Size  int64 // of the ciphertext
}

type staffNote struct {
	ID        int64
	Author    string
	CreatedAt time.Time
	Size      int64
}

type staffCasePage struct {
	Case          storage.Case
	Status        string
	Statuses      []string
	AssigneeID    int64
	Staff         []storage.Staff
	Messages      []staffCaseMessage
	Notes         []staffNote
	Retention     storage.Retention
	Recipients    string // the organisation's, as JSON, for in-browser encryption
	CaseRecipient string
}

// staffCase resolves the :ref of a staff case URL.
func (s *Server) staffCase(c *fiber.Ctx) (storage.Case, error) {
	cs, err := s.db.CaseByRef(c.UserContext(), c.Params("ref"))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Case{}, errNotFound
	}
	return cs, err
}

// handleStaffCase shows a case to staff: its workflow and, as ciphertext
// links, its messages and attachments. Nothing is decrypted here; the
// caseworker's browser (or `age -d` on their own machine) does that.
func (s *Server) handleStaffCase(c *fiber.Ctx) error {
	cs, err := s.staffCase(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	me := staffOf(c)
	msgs, err := s.db.Messages(ctx, cs.ID)
	if err != nil {
		return err
	}
	view := make([]staffCaseMessage, len(msgs))
	for i, m := range msgs {
		size := int64(len(m.Ciphertext))
		m.Ciphertext = nil // never rendered; fetched separately
		view[i] = staffCaseMessage{Message: m, Staff: m.Author == storage.AuthorStaff, Size: size}
	}
	notes, err := s.db.Notes(ctx, cs.ID)
	if err != nil {
		return err
	}
	noteView := make([]staffNote, len(notes))
	for i, n := range notes {
		noteView[i] = staffNote{ID: n.ID, Author: n.Author, CreatedAt: n.CreatedAt, Size: int64(len(n.Ciphertext))}
	}
	retention, err := s.db.CaseRetention(ctx, cs.ID)
	if err != nil {
		return err
	}
	assignee, err := s.db.CaseAssignee(ctx, cs.ID)
	if err != nil {
		return err
	}
	staff, err := s.db.ListStaff(ctx)
	if err != nil {
		return err
	}
	recipientsJSON, err := json.Marshal(s.recipients().Strings())
	if err != nil {
		return err
	}
	if err := s.db.MarkCaseRead(ctx, me.ID, cs.ID); err != nil {
		return err
	}
	if err := s.audit(ctx, me.Username, "case.open", cs.Ref, ""); err != nil {
		return err
	}
	return s.renderStaff(c, http.StatusOK, "staff_case", "Case "+cs.Ref, staffCasePage{
		Case: cs, Status: cs.Status, Statuses: caseStatuses, AssigneeID: assignee, Staff: staff,
		Messages: view, Notes: noteView, Retention: retention, Recipients: string(recipientsJSON), CaseRecipient: cs.Recipient,
	})
}

// caseChange is one workflow change to a case from a small staff form: it
// applies the change and returns the audit action and detail.
type caseChange func(ctx context.Context, cs storage.Case, form url.Values) (action, detail string, err error)

// changeCase runs a workflow form: resolve the case, check the CSRF token,
// apply the change, audit it, and go back to the case page.
func (s *Server) changeCase(change caseChange) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cs, err := s.staffCase(c)
		if err != nil {
			refuseRest(c)
			return err
		}
		form, err := s.staffForm(c)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		action, detail, err := change(ctx, cs, form)
		if err != nil {
			return err
		}
		if err := s.audit(ctx, staffOf(c).Username, action, cs.Ref, detail); err != nil {
			return err
		}
		return c.Redirect("/staff/case/"+cs.Ref, http.StatusSeeOther)
	}
}

func (s *Server) setStatus(ctx context.Context, cs storage.Case, form url.Values) (string, string, error) {
	status := form.Get("status")
	if !storage.ValidStatus(status) {
		return "", "", badUpload(say("Unknown status."))
	}
	return "case.status", cs.Status + " -> " + status, s.db.SetCaseStatus(ctx, cs.ID, status)
}

func (s *Server) assign(ctx context.Context, cs storage.Case, form url.Values) (string, string, error) {
	id, err := strconv.ParseInt(form.Get("assignee"), 10, 64)
	if err != nil || id < 0 {
		return "", "", badUpload(say("Unknown staff member."))
	}
	target := "no one"
	if id != 0 {
		st, err := s.db.StaffByID(ctx, id)
		if err != nil || st.Disabled {
			return "", "", badUpload(say("Unknown staff member."))
		}
		target = st.Username
	}
	return "case.assign", "to " + target, s.db.AssignCase(ctx, cs.ID, id)
}

// handleStaffMessageCiphertext serves one message's age file as it is
// stored, for decryption on the caseworker's device.
func (s *Server) handleStaffMessageCiphertext(c *fiber.Ctx) error {
	return s.serveCiphertext(c, "message", s.db.MessageCiphertext)
}

// handleStaffNoteCiphertext serves one note's age file.
func (s *Server) handleStaffNoteCiphertext(c *fiber.Ctx) error {
	return s.serveCiphertext(c, "note", s.db.NoteCiphertext)
}

// serveCiphertext sends the age file that find returns for the :ref case
// and :id item as a download.
func (s *Server) serveCiphertext(c *fiber.Ctx, kind string, find func(ctx context.Context, caseID, id int64) ([]byte, error)) error {
	cs, err := s.staffCase(c)
	if err != nil {
		return err
	}
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

// handleStaffAttachmentCiphertext streams one attachment's age file.
func (s *Server) handleStaffAttachmentCiphertext(c *fiber.Ctx) error {
	cs, err := s.staffCase(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	ctx := c.UserContext()
	owner, err := s.db.AttachmentCase(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && owner != cs.ID) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	info, r, err := s.db.Attachment(context.Background(), id)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, staffOf(c).Username, "attachment.download", cs.Ref, fmt.Sprintf("attachment %d", id)); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment",
		map[string]string{"filename": fmt.Sprintf("%s-attachment-%d.age", cs.Ref, id)}))
	return c.SendStream(r, int(info.Size))
}

// staffMultipart opens a streamed multipart body whose first part must be
// a valid CSRF token, checked before anything is read further.
func (s *Server) staffMultipart(c *fiber.Ctx) (*partReader, *limitedBody, error) {
	token := staffOf(c).session.CSRF
	return s.openMultipart(c, func(got string) bool { return constantTimeEqual(got, token) }, errCSRFStaff)
}

// handleStaffAttachmentUpload stores one attachment that the caseworker's
// browser has already encrypted (to the organisation and the case), and
// returns its id as JSON, to be named in the reply that follows. Until that
// reply is stored the attachment is pending, and deleted on failure or at
// the next start.
func (s *Server) handleStaffAttachmentUpload(c *fiber.Ctx) error {
	cs, err := s.staffCase(c)
	if err != nil {
		refuseRest(c)
		return err
	}
	release, err := s.acquireUpload(c.UserContext())
	if err != nil {
		refuseRest(c)
		return err
	}
	defer release()
	mr, body, err := s.staffMultipart(c)
	if err != nil {
		return err
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "file" {
		refuseRest(c)
		return badUpload(say("No file was sent."))
	}
	ctx := c.UserContext()
	aw, err := s.db.NewOwnedAttachment(ctx, staffUploadOwner(cs.ID, staffOf(c).ID))
	if err != nil {
		return err
	}
	// The ciphertext of the largest file allowed is a little larger than the
	// file: allow for age's overhead (16 bytes per 64 KiB chunk, a header).
	limit := s.cfg.MaxFileBytes + s.cfg.MaxFileBytes/4096 + 64<<10
	src := bufio.NewReaderSize(io.LimitReader(part, limit+1), 64)
	if head, err := src.Peek(len(ageMagic)); err != nil || string(head) != ageMagic {
		s.db.DeletePending(ctx, aw.ID())
		refuseRest(c)
		return badUpload(say("The file is not an age-encrypted file."))
	}
	dst := &errWriter{w: aw}
	if n, err := io.Copy(dst, src); err != nil || dst.err != nil || body.exceeded || n > limit {
		aw.Abort() // a chunk may still be being stored
		s.db.DeletePending(ctx, aw.ID())
		refuseRest(c)
		if dst.err != nil {
			return dst.err
		}
		return s.errLimit(say("The file could not be received whole."))
	}
	if err := aw.Close(); err != nil {
		s.db.DeletePending(ctx, aw.ID())
		return err
	}
	if err := s.audit(ctx, staffOf(c).Username, "attachment.upload", cs.Ref, fmt.Sprintf("attachment %d", aw.ID())); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": aw.ID()})
}

// handleStaffReply stores a reply that the caseworker's browser encrypted
// to the organisation and the case (so the reporter can read it at their
// next follow-up), naming attachments uploaded before it.
func (s *Server) handleStaffReply(c *fiber.Ctx) error {
	cs, mr, err := s.staffCaseMultipart(c)
	if err != nil {
		return err
	}
	var sealed []byte
	var ids []int64
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			refuseRest(c)
			return badUpload(say("The form data was incomplete or malformed."))
		}
		switch part.FormName() {
		case "message":
			if sealed, err = readSealed(part); err != nil {
				refuseRest(c)
				return badUpload(say("The reply is not an age-encrypted message."))
			}
		case "attachments":
			v, err := readField(part, 4096)
			if err != nil {
				refuseRest(c)
				return badUpload(say("The attachment list could not be read."))
			}
			for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
				id, err := strconv.ParseInt(f, 10, 64)
				if err != nil || len(ids) >= s.cfg.MaxFiles {
					return badUpload(say("The attachment list is malformed."))
				}
				ids = append(ids, id)
			}
		default:
			if _, err := readField(part, 4096); err != nil {
				refuseRest(c)
				return badUpload(say("The form had an unexpected field."))
			}
		}
	}
	if sealed == nil {
		return badUpload(say("The reply is empty."))
	}
	ctx := c.UserContext()
	m, err := s.db.AddMessage(ctx, cs.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: sealed,
		AttachmentIDs: ids, AttachmentOwner: staffUploadOwner(cs.ID, staffOf(c).ID)})
	if err != nil {
		return badUpload(say("The reply could not be stored: an attachment is unknown or already used."))
	}
	if err := s.audit(ctx, staffOf(c).Username, "case.reply", cs.Ref, fmt.Sprintf("message %d, attachments %v", m.ID, ids)); err != nil {
		return err
	}
	return created(c, cs, m.ID)
}

// handleStaffNote stores an internal note, encrypted by the caseworker's
// browser to the organisation's recipients only.
func (s *Server) handleStaffNote(c *fiber.Ctx) error {
	cs, mr, err := s.staffCaseMultipart(c)
	if err != nil {
		return err
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "note" {
		refuseRest(c)
		return badUpload(say("The note is missing."))
	}
	b, err := readSealed(part)
	if err != nil {
		refuseRest(c)
		return badUpload(say("The note is not an age-encrypted message."))
	}
	ctx := c.UserContext()
	me := staffOf(c)
	n, err := s.db.AddNote(ctx, cs.ID, me.ID, b)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, me.Username, "case.note", cs.Ref, fmt.Sprintf("note %d", n.ID)); err != nil {
		return err
	}
	return created(c, cs, n.ID)
}

// staffCaseMultipart resolves the :ref case and opens a streamed staff
// form, its CSRF token checked first.
func (s *Server) staffCaseMultipart(c *fiber.Ctx) (storage.Case, *partReader, error) {
	cs, err := s.staffCase(c)
	if err != nil {
		refuseRest(c)
		return storage.Case{}, nil, err
	}
	mr, _, err := s.staffMultipart(c)
	return cs, mr, err
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
	if c.Accepts("application/json") == "application/json" {
		return c.JSON(fiber.Map{"id": id})
	}
	return c.Redirect("/staff/case/"+cs.Ref, http.StatusSeeOther)
}
