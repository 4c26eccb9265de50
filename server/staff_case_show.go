package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

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
	Case        storage.Case
	Status      string
	StatusLabel string
	Statuses    []statusOption
	// Outcomes are the categories on offer for closing; Outcome is the
	// closed case's, with the note that explains it (OutcomeNote, 0: none).
	Outcomes      []storage.Outcome
	Outcome       *storage.Outcome
	OutcomeNote   int64
	AssigneeID    int64
	Staff         []storage.Staff
	Messages      []staffCaseMessage
	Notes         []staffNote
	Retention     storage.Retention
	Recipients    string // the organisation's, as JSON, for in-browser encryption
	CaseRecipient string
	// Channel is the case's channel; ChannelRecipient its newest public
	// key (empty if it has none), for replies and notes.
	Channel          storage.Channel
	ChannelName      string
	ChannelRecipient string
	// Identity is set if the reporter gave identity details.
	Identity *staffCaseIdentity
	// Deadline is the case's next deadline as of today; MaxMonths bounds
	// an extension.
	Deadline  storage.Deadline
	MaxMonths int
}

// staffCaseIdentity is what the case page says of the reporter's identity
// details to the one viewing it.
type staffCaseIdentity struct {
	Granted   bool // they hold a grant: a Decrypt button
	Pending   bool // their request awaits a custodian
	Custodian bool // they may open it themselves, on the custodians' page
}

// handleStaffCase answers GET /staff/case/:ref: shows a case to staff: its
// workflow and, as ciphertext links, its messages and attachments. Nothing
// is decrypted here; the caseworker's browser (or `age -d` on their own
// machine) does that.
func (s *Server) handleStaffCase(c *fiber.Ctx) error {
	cs := staffCaseOf(c)
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
	all, err := s.db.ListStaff(ctx)
	if err != nil {
		return err
	}
	// The case may be assigned only to those who may see it (assign).
	var staff []storage.Staff
	for _, st := range all {
		if st.Disabled || st.Role == storage.RoleStatistics {
			continue
		}
		ok, err := s.db.CanSeeCase(ctx, cs, st.ID)
		if err != nil {
			return err
		}
		if ok || st.ID == assignee {
			staff = append(staff, st)
		}
	}
	// The page's script seals replies and notes to these: the current
	// set, whichever instance changed it last.
	if err := s.refreshRecipients(ctx); err != nil {
		return err
	}
	recipientsJSON, err := json.Marshal(s.recipients().Strings())
	if err != nil {
		return err
	}
	ch, err := s.db.Channel(ctx, cs.ChannelID)
	if err != nil {
		return err
	}
	idView, err := s.staffCaseIdentity(ctx, cs, me)
	if err != nil {
		return err
	}
	offered, err := s.db.Outcomes(ctx, false)
	if err != nil {
		return err
	}
	var outcome *storage.Outcome
	o, outcomeNote, err := s.db.CaseOutcome(ctx, cs.ID)
	if err == nil {
		outcome = &o
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	opened := storage.AuditEntry{Actor: me.Username, Action: "case.open", Target: cs.Ref}
	if err := s.db.Change(ctx, &opened, func(ctx context.Context) error {
		return s.db.MarkCaseRead(ctx, me.ID, cs.ID)
	}); err != nil {
		return err
	}
	return s.renderStaff(c, http.StatusOK, "staff_case", "Case "+cs.Ref, staffCasePage{
		Case: cs, Status: cs.Status, StatusLabel: statusLabels[cs.Status], Statuses: statusOptions(false),
		Outcomes: offered, Outcome: outcome, OutcomeNote: outcomeNote, AssigneeID: assignee, Staff: staff,
		Messages: view, Notes: noteView, Retention: retention, Recipients: string(recipientsJSON), CaseRecipient: cs.Recipient,
		Channel: ch, ChannelName: ch.Text(storage.DefaultLanguage).Name, ChannelRecipient: ch.Recipient,
		Identity: idView, Deadline: cs.Deadlines.Next(cs.Status, s.db.Today()), MaxMonths: storage.MaxFeedbackMonths,
	})
}
