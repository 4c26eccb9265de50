package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// handleStaffQuestionnaireVersion answers GET
// /staff/admin/channels/:id/questions/:version<int>: one stored version of
// a channel's intake questions, read-only.
func (s *Server) handleStaffQuestionnaireVersion(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Params("version"))
	if err != nil || n <= 0 {
		return errQuestionnaireVersion
	}
	stored, err := s.db.QuestionnaireVersion(c.UserContext(), ch.ID, n)
	if errors.Is(err, storage.ErrNotFound) {
		return errQuestionnaireVersion
	}
	if err != nil {
		return err
	}
	qn, err := frontend.ParseQuestionnaire(questionnaireID(ch.ID), n, stored.Definition)
	if err != nil {
		return err
	}
	v := s.storedView(c, qn, stored)
	return s.renderQuestionnaire(c, http.StatusOK, ch, nil, &v, "", "")
}
