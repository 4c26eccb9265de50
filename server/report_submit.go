package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

type receipt struct {
	Code  string
	Files []crypto.Attachment
}

var errEmptyReport = &userError{status: http.StatusBadRequest, title: "Your report is empty",
	message: []phrase{say("Please describe what happened, attach a file, or both. Nothing was saved.")}, back: "/report"}

// handleReportSubmit answers POST /report: receives a new report. The order
// matters: the case's identity is made first so that attachments can be
// encrypted to it while they stream in; the one Argon2id derivation comes
// after the upload so that a slow upload holds no KDF slot; the receipt with
// the case code is sent only after the case is durably committed.
func (s *Server) handleReportSubmit(c *fiber.Ctx) error {
	release, err := s.acquireUpload(c.UserContext())
	if err != nil {
		return err
	}
	defer release()

	code, err := crypto.NewCaseCode()
	if err != nil {
		return err
	}
	identity, err := crypto.NewCaseIdentity(s.recipients().Kind())
	if err != nil {
		return err
	}
	recipients, err := s.recipients().ForCaseIdentity(identity)
	if err != nil {
		return err
	}
	up, err := s.receive(c, recipients, nil)
	if errors.Is(err, errRepeat) {
		return errReportRepeat
	}
	if err != nil {
		return err
	}
	if up.text == "" && len(up.files) == 0 {
		return errEmptyReport
	}
	ctx := c.UserContext()
	sealed, err := crypto.SealMessage(crypto.Message{Text: up.text, Attachments: up.files}, recipients)
	if err != nil {
		s.discard(ctx, up)
		return err
	}
	keys, err := s.caseKDF.derive(ctx, true, s.kdfCurrent.params, code)
	if err != nil {
		s.discard(ctx, up)
		return err
	}
	wrapped, err := crypto.WrapCaseIdentity(keys, identity)
	if err != nil {
		s.discard(ctx, up)
		return err
	}
	for attempt := 0; ; attempt++ {
		ref, err := crypto.NewCaseRef()
		if err != nil {
			s.discard(ctx, up)
			return err
		}
		_, err = s.db.CreateCase(ctx, storage.NewCase{
			Ref: ref, LookupID: keys.LookupID, KDFID: s.kdfCurrent.id,
			WrappedIdentity: wrapped, Recipient: identity.Recipient(),
			First:    storage.NewMessage{Ciphertext: sealed, AttachmentIDs: up.ids, AttachmentOwner: up.owner},
			FormHash: up.formHash,
		})
		if errors.Is(err, storage.ErrDuplicate) && attempt < 5 {
			continue // a reference already taken: draw another
		}
		if errors.Is(err, storage.ErrFormUsed) {
			s.discard(ctx, up)
			return errReportRepeat // the same form, sent at the same time
		}
		if err != nil {
			s.discard(ctx, up)
			return fmt.Errorf("failed to store report: %w", err)
		}
		break
	}
	return s.render(c, http.StatusOK, "receipt", "Your report has been received",
		receipt{Code: code.Display(), Files: up.files})
}
