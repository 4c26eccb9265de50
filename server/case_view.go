package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// statusText is how a status reads to the reporter. Internal notes and the
// assignee are never shown to them.
var statusText = map[string][2]phrase{
	storage.StatusNew:              {say("New"), say("Your report has arrived and is waiting to be read by a caseworker.")},
	storage.StatusInReview:         {say("In review"), say("A caseworker is looking into your report.")},
	storage.StatusAwaitingReporter: {say("Waiting for you"), say("A caseworker has asked you something. Please read their message below.")},
	storage.StatusReferred:         {say("Referred"), say("Your report has been passed on for further action.")},
	storage.StatusClosed:           {say("Closed"), say("This case is closed. You can still read it and add a message.")},
}

type caseMessage struct {
	Mine        bool
	Date        time.Time
	Text        string
	Attachments []crypto.Attachment
	// Answers are the reporter's answers to the intake questions (their
	// first message only), shown back to them.
	Answers []crypto.Answer
	// AnswersRef names the questionnaire version they answer.
	AnswersRef string
}

type casePage struct {
	uploadLimits
	Status     string
	StatusHelp string
	Sent       bool
	Error      string
	CSRF       string
	Form       string // the message form's one-time token
	Messages   []caseMessage
	HasReply   bool
	Page       int
	Pages      int
	PrevPage   int
	NextPage   int
	// Identity is set if the reporter gave identity details.
	Identity *caseIdentityView
	// AckBy is the day the reporter can expect an acknowledgement by,
	// until the case is acknowledged; FeedbackBy then the day they can
	// expect feedback by. Neither is set for a closed case.
	AckBy      *time.Time
	FeedbackBy *time.Time
	// Late is set once that day has passed: the page then apologises
	// instead of promising a day in the past.
	Late bool
}

// messagesPerPage bounds how much of a thread one request decrypts and
// renders: a long thread is shown a page at a time.
const messagesPerPage = 20

// open decrypts messages with the case identity, in memory.
func (s *Server) open(sess *session, msgs []storage.Message) ([]caseMessage, error) {
	out := make([]caseMessage, 0, len(msgs))
	for _, m := range msgs {
		plain, err := crypto.OpenMessage(m.Ciphertext, sess.identity.Identity())
		if err != nil {
			// A staff reply encrypted without the case's key (a broken
			// client) must not make the whole thread unreadable.
			s.log.Warn("a message of a case could not be opened with the case key", "message", m.ID, "err", err)
			out = append(out, caseMessage{Mine: m.Author == storage.AuthorReporter, Date: m.CreatedAt,
				Text: "[This message could not be opened. Please tell your caseworker.]"})
			continue
		}
		// Only attachments stored with this very message are offered.
		linked := map[int64]bool{}
		for _, a := range m.Attachments {
			linked[a.ID] = true
		}
		var atts []crypto.Attachment
		for _, a := range plain.Attachments {
			if linked[a.ID] {
				a.Name = crypto.CleanAttachmentName(a.Name)
				atts = append(atts, a)
			}
		}
		cm := caseMessage{Mine: m.Author == storage.AuthorReporter, Date: m.CreatedAt,
			Text: plain.Text, Attachments: atts}
		if cm.Mine && plain.Answers != nil {
			cm.Answers, cm.AnswersRef = plain.Answers.Items, answersRef(plain.Answers)
		}
		out = append(out, cm)
	}
	return out, nil
}

// handleCaseView answers GET /case: shows the reporter their case: their
// messages and the staff's replies, decrypted with the session's case
// identity, and the form for a new message.
func (s *Server) handleCaseView(c *fiber.Ctx) error {
	sess, ok := s.session(c)
	if !ok {
		return c.Redirect("/followup", http.StatusSeeOther)
	}
	ctx := c.UserContext()
	cs, err := s.db.Case(ctx, sess.caseID)
	if err != nil {
		return err
	}
	// Count first, to know the last page, which is shown by default.
	total, err := s.db.MessageCount(ctx, sess.caseID)
	if err != nil {
		return err
	}
	pages := max(1, (total+messagesPerPage-1)/messagesPerPage)
	page := pages
	if p, err := strconv.Atoi(c.Query("page")); err == nil && p >= 1 && p <= pages {
		page = p
	}
	raw, err := s.db.MessagesPage(ctx, sess.caseID, (page-1)*messagesPerPage, messagesPerPage)
	if err != nil {
		return err
	}
	msgs, err := s.open(sess, raw)
	if err != nil {
		return err
	}
	s.translateAnswers(c, cs.ChannelID, msgs)
	hasReply, err := s.db.HasStaffMessage(ctx, sess.caseID)
	if err != nil {
		return err
	}
	idView, err := s.caseIdentity(c, sess.caseID)
	if err != nil {
		return err
	}
	st, ok := statusText[cs.Status]
	if !ok {
		st = [2]phrase{say("In progress"), say("Your case is being handled.")}
	}
	var ackBy, feedbackBy *time.Time
	d := cs.Deadlines.Next(cs.Status, s.db.Today())
	switch d.Kind {
	case storage.DeadlineAcknowledge:
		ackBy = &d.By
	case storage.DeadlineFeedback:
		feedbackBy = &d.By
	}
	return s.render(c, http.StatusOK, "case", "Your case", casePage{
		uploadLimits: s.limits(), Status: s.translate(c, st[0]), StatusHelp: s.translate(c, st[1]),
		Sent: c.Query("sent") == "1", CSRF: sess.csrf, Form: newFormToken(), Messages: msgs, HasReply: hasReply,
		Page: page, Pages: pages, PrevPage: page - 1, NextPage: page + 1, Identity: idView,
		AckBy: ackBy, FeedbackBy: feedbackBy, Late: d.Overdue(),
	})
}
