package server

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffQuestionnaireDownload answers GET
// /staff/admin/channels/:id/questions/json: the definition of the
// channel's current questionnaire (the built-in default's if it has none
// of its own), or with ?version=N of that version, as a JSON file to keep,
// edit elsewhere and upload again.
func (s *Server) handleStaffQuestionnaireDownload(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	var def []byte
	name := fmt.Sprintf("channel-%d-questions", ch.ID)
	if v := c.Query("version"); v != "" {
		n, err := strconv.Atoi(v)
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
		def, name = stored.Definition, fmt.Sprintf("%s-v%d", name, n)
	} else {
		qn, stored, err := s.currentQuestionnaire(c, ch)
		if err != nil {
			return err
		}
		if stored.Version == 0 {
			if def, err = qn.Definition(); err != nil {
				return err
			}
			name += "-default"
		} else {
			def, name = stored.Definition, fmt.Sprintf("%s-v%d", name, stored.Version)
		}
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.json"`)
	return c.Send(def)
}
