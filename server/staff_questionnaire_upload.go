package server

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/frontend"
)

// handleStaffQuestionnaireUpload answers POST
// /staff/admin/channels/:id/questions/upload: a questionnaire's JSON
// definition (as the download gives it, at most frontend.MaxDefinition
// bytes), checked and loaded into the editor as a draft to review and
// save. Nothing is stored.
func (s *Server) handleStaffQuestionnaireUpload(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	mr, _, err := s.staffMultipart(c)
	if err != nil {
		return err
	}
	var def []byte
	base, seen := -1, map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return staffBadRequest("The upload was incomplete or malformed.")
		}
		name := part.FormName()
		if seen[name] {
			return staffBadRequest("The upload had an unexpected field.")
		}
		seen[name] = true
		switch name {
		case "base":
			v, err := readField(part, 12)
			if err != nil {
				return staffBadRequest("The upload was not sent as the page sends it.")
			}
			if base, err = strconv.Atoi(v); err != nil || base < 0 {
				return staffBadRequest("The upload was not sent as the page sends it.")
			}
		case "definition":
			v, err := readField(part, frontend.MaxDefinition)
			if errors.Is(err, errFieldTooLong) {
				return s.renderQuestionnaire(c, http.StatusRequestEntityTooLarge, ch, nil, nil,
					"Not loaded: the file is larger than "+strconv.Itoa(frontend.MaxDefinition>>10)+" KiB. Nothing was changed.", "")
			}
			if err != nil {
				return staffBadRequest("The file could not be read.")
			}
			def = []byte(v)
		default:
			return staffBadRequest("The upload had an unexpected field.")
		}
	}
	if def == nil || base < 0 {
		return staffBadRequest("The upload had no file, or was not sent as the page sends it.")
	}
	qn, err := frontend.ParseQuestionnaire(questionnaireID(ch.ID), base+1, def)
	if err != nil {
		return s.renderQuestionnaire(c, http.StatusUnprocessableEntity, ch, nil, nil,
			"Not loaded: "+err.Error()+". Nothing was changed.", "")
	}
	return s.renderQuestionnaire(c, http.StatusOK, ch, draftOf(qn, base), nil, "",
		"The file is loaded into the editor below as a draft. Review it, then save it: nothing is stored until you do.")
}
