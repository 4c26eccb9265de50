package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

type receipt struct {
	Code  string
	Files []crypto.Attachment
	// Channel is the name of the channel the report went to, in the
	// reporter's language when it was sent.
	Channel string
	// Answered is how many intake questions were answered.
	Answered int
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
	pick, err := s.newChannelPick(c.UserContext(), recipients)
	if err != nil {
		return err
	}
	mr, body, err := s.openMultipart(c, nil, nil)
	if err != nil {
		return err
	}
	up, err := s.receiveParts(c, mr, body, recipients, pick)
	var again *repeatReceipt
	if errors.As(err, &again) {
		// The same form made a report a moment ago: its receipt again. The
		// rest of this copy is read and dropped, so that the browser, still
		// sending, sees the page.
		if _, err := io.Copy(io.Discard, body); err != nil {
			c.Context().SetConnectionClose()
		}
		return s.render(c, http.StatusOK, "receipt", "Your report has been received", *again.receipt)
	}
	if errors.Is(err, errRepeat) {
		return s.keepRepeat(c, mr, body, pick)
	}
	var refused *answersRefused
	if errors.As(err, &refused) {
		return s.renderAnswersRefused(c, refused, pick)
	}
	if err != nil {
		return err
	}
	defer up.claim.drop()
	if up.text == "" && len(up.files) == 0 && up.answers == nil {
		return errEmptyReport
	}
	ctx := c.UserContext()
	// The channel is settled (receiveParts): encrypt to its key too.
	recipients = pick.recipients
	idBlock, err := s.sealIdentity(ctx, *pick.chosen, &up.identity)
	if err != nil {
		s.discard(ctx, up)
		return err
	}
	sealed, err := crypto.SealMessage(crypto.Message{Text: up.text, Attachments: up.files, Answers: up.answers}, recipients)
	if err != nil {
		s.discard(ctx, up)
		return err
	}
	summary, err := s.sealSummary(*pick.chosen, up.text, up.questionnaire, up.answers)
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
			First:     storage.NewMessage{Ciphertext: sealed, AttachmentIDs: up.ids, AttachmentOwner: up.owner},
			FormHash:  up.formHash,
			Identity:  idBlock,
			ChannelID: pick.chosen.ID, ChannelGeneration: pick.chosen.Generation,
			Questionnaire: up.questionnaire.Ref(),
			Summary:       summary,
		})
		if errors.Is(err, storage.ErrDuplicate) && attempt < 5 {
			continue // a reference already taken: draw another
		}
		if errors.Is(err, storage.ErrFormUsed) {
			// The same form, stored by an attempt this process did not
			// see through (receipt_kept.go makes this rare).
			s.discard(ctx, up)
			return s.renderRepeat(c, keptReport{Text: up.text, Files: fileNames(up.files), Keep: up.keepOriginals,
				Answers: up.fields.raw, Questionnaire: up.questionnaire.Ref(), Identity: &up.identity}, pick)
		}
		if err != nil {
			s.discard(ctx, up)
			return fmt.Errorf("failed to store report: %w", err)
		}
		break
	}
	rec := receipt{Code: code.Display(), Files: up.files, Channel: pick.chosen.Text(languageOf(c).Tag).Name}
	if up.answers != nil {
		rec.Answered = len(up.answers.Items)
	}
	up.claim.keep(rec)
	return s.render(c, http.StatusOK, "receipt", "Your report has been received", rec)
}

// receiptWait is how long a repeat of a report form waits for the outcome
// of its first attempt: as long as that attempt may take to arrive and be
// stored.
func (s *Server) receiptWait() time.Duration {
	return s.cfg.ReadTimeout + 2*kdfWait + time.Minute
}

// keptReport is what a report form that was sent again carried, kept in
// the page that answers it (and nowhere else): it may be sent as a new
// report.
type keptReport struct {
	Text  string
	Files []string // cleaned names, to choose again
	Keep  bool
	// Answers are the raw answers to the intake questions, by field name,
	// and the questionnaire version they answer ("" if not known).
	Answers       frontend.Answers
	Questionnaire string
	// Identity is what the optional identity section carried.
	Identity *identityFields
}

// keepRepeat answers a report form that made a report already, whose
// receipt is no longer held (receipt_kept.go): its text is kept in a fresh
// report form, with the choice to send it as a new report.
func (s *Server) keepRepeat(c *fiber.Ctx, mr *partReader, body *limitedBody, pick *channelPick) error {
	km, err := s.keepMessage(c, mr, body, true)
	if err != nil {
		return err
	}
	return s.renderRepeat(c, keptReport{Text: km.Text, Files: km.Files, Keep: km.Keep, Answers: km.Answers,
		Questionnaire: km.Questionnaire, Identity: km.Identity}, pick)
}

// renderRepeat shows the report form again with a fresh token, the text
// of a repeated report in it, and what happened above it; for the same
// channel, if the form had said which.
// The page is the report's last page, with every answer the repeat
// carried, of the questionnaire version it named.
func (s *Server) renderRepeat(c *fiber.Ctx, kept keptReport, pick *channelPick) error {
	s.refused(refusedDuplicate)
	view := pick.view(languageOf(c).Tag)
	qn := s.defaultQuestionnaire
	if view != nil {
		var err error
		if qn, err = s.questionnaireOfForm(c.UserContext(), view.ID, kept.Questionnaire); err != nil {
			var ue *userError
			if !errors.As(err, &ue) {
				return err
			}
			qn = s.defaultQuestionnaire
		}
	}
	st := reportState{qn: qn, channel: view, form: newFormToken(), raw: kept.Answers, text: kept.Text, person: kept.Identity}
	form := s.reportPage(c, st, qn.Last(), nil)
	form.Repeat = &kept
	return s.render(c, http.StatusConflict, "report", "Make a report", form)
}

func fileNames(files []crypto.Attachment) []string {
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names
}
