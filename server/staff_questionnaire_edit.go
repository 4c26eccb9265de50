package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffQuestionnaireEdit answers POST
// /staff/admin/channels/:id/questions: the editor's whole draft with the
// button pressed ("action"). Adding, removing or moving a question or a
// step answers the draft changed, and stores nothing. "save" validates
// the draft and stores it as the channel's next version, if the newest is
// still the one the draft began from ("base"); otherwise, or if the draft
// is not valid, the draft comes back with the reason above it and nothing
// is stored. The form is multipart (its CSRF token first), as a draft in
// six languages outgrows what a urlencoded form may be (formBodyMax).
func (s *Server) handleStaffQuestionnaireEdit(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	form, err := s.draftForm(c)
	if err != nil {
		return err
	}
	u := staffOf(c)
	d, err := draftFrom(form)
	if err != nil {
		return err
	}
	action := form.Get("action")
	if action != "save" {
		if problem := d.apply(action); problem != "" {
			return s.renderQuestionnaire(c, http.StatusUnprocessableEntity, ch, d, nil, problem, "")
		}
		return s.renderQuestionnaire(c, http.StatusOK, ch, d, nil, "", "The draft is updated. Nothing is stored until you save it.")
	}

	qn, err := d.questionnaire(ch.ID)
	if err == nil {
		err = qn.Validate()
	}
	for i := 0; err == nil && i < len(qn.Steps)-1; i++ {
		if len(qn.Steps[i].Questions) == 0 {
			err = fmt.Errorf("step %d has no questions: add one or remove the step", i+1)
		}
	}
	if err != nil {
		return s.renderQuestionnaire(c, http.StatusUnprocessableEntity, ch, d, nil,
			"Not saved: "+err.Error()+". Correct the draft below and save again.", "")
	}
	def, err := qn.Definition()
	if err != nil {
		return err
	}
	e := storage.AuditEntry{Actor: u.Username, Action: "questionnaire.save", Target: channelTarget(ch)}
	var version int
	err = s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		var err error
		version, err = s.db.SaveQuestionnaire(ctx, ch.ID, d.Base, def, u.ID)
		e.Detail = fmt.Sprintf("version %d", version)
		return err
	})
	if errors.Is(err, storage.ErrQuestionnaireChanged) {
		_, stored, rerr := s.currentQuestionnaire(c, ch)
		if rerr != nil {
			return rerr
		}
		problem := fmt.Sprintf("Not saved: someone saved version %d of these questions while you were editing. "+
			"Your draft is kept below. Compare it with version %d above; saving the draft now stores it as version %d, in place of theirs for new reports.",
			stored.Version, stored.Version, stored.Version+1)
		d.Base = stored.Version
		return s.renderQuestionnaire(c, http.StatusConflict, ch, d, nil, problem, "")
	}
	if err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d/questions?saved=%d", ch.ID, version), http.StatusSeeOther)
}
