package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// handleStaffQuestionnaire answers GET /staff/admin/channels/:id/questions:
// the channel's current intake questions (a version of its own, or the
// built-in default), its earlier versions, and the editor with the
// current questions as the draft. With ?from=N the draft is version N
// instead (to go back to it by saving it again); ?saved=N says that
// version N was just saved.
func (s *Server) handleStaffQuestionnaire(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	qn, stored, err := s.currentQuestionnaire(c, ch)
	if err != nil {
		return err
	}
	notice := ""
	if n, err := strconv.Atoi(c.Query("saved")); err == nil && n > 0 {
		notice = fmt.Sprintf("Saved as version %d. Cases reported before keep the questions they were asked.", n)
	}
	if from := c.Query("from"); from != "" {
		n, err := strconv.Atoi(from)
		if err != nil || n <= 0 {
			return errQuestionnaireVersion
		}
		old, err := s.db.QuestionnaireVersion(c.UserContext(), ch.ID, n)
		if errors.Is(err, storage.ErrNotFound) {
			return errQuestionnaireVersion
		}
		if err != nil {
			return err
		}
		if qn, err = frontend.ParseQuestionnaire(questionnaireID(ch.ID), n, old.Definition); err != nil {
			return err
		}
		notice = fmt.Sprintf("The editor holds version %d as a draft. Nothing is stored until you save it.", n)
	}
	return s.renderQuestionnaire(c, http.StatusOK, ch, draftOf(qn, stored.Version), nil, "", notice)
}
