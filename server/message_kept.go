package server

import (
	"io"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
)

// keptMessage is a follow-up message that arrived after its session had
// ended. Rather than being dropped, it is put back into the code form (in
// the page only: nothing of it is stored), so that entering the code opens
// the case and sends it in one step. A browser cannot be made to send
// files again, so their names are listed for the reporter to pick them
// again.
type keptMessage struct {
	Text  string
	Files []string // cleaned names
	// Form is the message form's one-time token, carried over so that the
	// message is still sent only once.
	Form string
	Keep bool
}

var sessionEndedKept = []phrase{say("Your session ended before your message was sent, so it has not been saved yet."),
	say("Enter your case code: your case will open and the message below will be sent.")}

// keepForLogin answers a message posted after its session ended: the code
// form again, with the message in it.
func (s *Server) keepForLogin(c *fiber.Ctx) error {
	s.refused(refusedSessionEnded)
	mr, body, err := s.openMultipart(c, nil, nil)
	if err != nil {
		return err
	}
	km, err := s.keepMessage(c, mr, body)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusForbidden, "followup", "Check your case",
		followupForm{Error: s.translate(c, sessionEndedKept...), Kept: km, uploadLimits: s.limits()})
}

// keepMessage reads the rest of a message form without storing anything:
// its text and token are kept, and its files are read to learn their names
// and dropped. What cannot be read (a body over the limit, say) ends the
// reading; what was kept so far is still shown.
func (s *Server) keepMessage(c *fiber.Ctx, mr *partReader, body *limitedBody) (*keptMessage, error) {
	km := &keptMessage{}
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil || parts >= s.cfg.MaxFiles+8 {
			return km, nil
		}
		switch part.FormName() {
		case "body":
			if km.Text, err = s.readText(part); err != nil {
				return nil, err
			}
		case formTokenField:
			var v string
			if v, err = readField(part, 256); err == nil {
				if _, ok := formTokenHash(v); ok {
					km.Form = v
				}
			}
		case "keep_originals":
			var v string
			v, err = readField(part, 16)
			km.Keep = v == "yes"
		case "attachments":
			if name := part.FileName(); name != "" && len(km.Files) < s.cfg.MaxFiles {
				km.Files = append(km.Files, crypto.CleanAttachmentName(name))
			}
			_, err = io.Copy(io.Discard, part)
		default:
			_, err = readField(part, 4<<10)
		}
		part.Close()
		if err != nil {
			return km, nil
		}
	}
	if n, _ := io.Copy(io.Discard, io.LimitReader(body, 64<<10)); n == 64<<10 {
		c.Context().SetConnectionClose()
	}
	return km, nil
}
