package server

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
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
		stored, err := s.storedQuestionnaireVersion(c, ch.ID, v)
		if err != nil {
			return err
		}
		def, name = stored.Definition, fmt.Sprintf("%s-v%d", name, stored.Version)
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
