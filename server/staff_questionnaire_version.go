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
	stored, err := s.storedQuestionnaireVersion(c, ch.ID, c.Params("version"))
	if err != nil {
		return err
	}
	n := stored.Version
	qn, err := frontend.ParseQuestionnaire(questionnaireID(ch.ID), n, stored.Definition)
	if err != nil {
		return err
	}
	v := s.storedView(c, qn, stored)
	return s.renderQuestionnaire(c, http.StatusOK, ch, nil, &v, "", "")
}

// storedQuestionnaireVersion reads the version of a channel's
// questionnaire that a request names (a positive number);
// errQuestionnaireVersion if it names none.
func (s *Server) storedQuestionnaireVersion(c *fiber.Ctx, channel int64, version string) (storage.StoredQuestionnaire, error) {
	n, err := strconv.Atoi(version)
	if err != nil || n <= 0 {
		return storage.StoredQuestionnaire{}, errQuestionnaireVersion
	}
	stored, err := s.db.QuestionnaireVersion(c.UserContext(), channel, n)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.StoredQuestionnaire{}, errQuestionnaireVersion
	}
	return stored, err
}
