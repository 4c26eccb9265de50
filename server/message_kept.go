package server

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
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
	// FilesUnread: the service was too busy to read past the text, so the
	// names of any files sent are not known (see keepUnslotted).
	FilesUnread bool
	// FileUnreadable: a part of the form could not be read (a file name
	// with a quotation mark, say); reading stopped there.
	FileUnreadable bool
	// Form is the message form's one-time token, carried over so that the
	// message is still sent only once.
	Form string
	Keep bool
	// Answers are a report form's raw answers to the intake questions, and
	// the questionnaire version its form named.
	Answers       frontend.Answers
	Questionnaire string
	// Identity is a report form's identity section (report_identity.go).
	Identity *identityFields
}

// maxKeptAnswerBytes bounds the answers a repeated report form keeps.
const maxKeptAnswerBytes = 1 << 20

var sessionEndedKept = []phrase{say("Your session ended before your message was sent, so it has not been saved yet."),
	say("Enter your case code: your case will open and the message below will be sent.")}

// keepForLogin answers a message posted after its session ended: the code
// form again, with the message in it. It is counted once: as a session
// ended, or (a text over the limit, say) as what was wrong with it.
func (s *Server) keepForLogin(c *fiber.Ctx) error {
	mr, body, err := s.openMultipart(c, nil, nil)
	if err != nil {
		return err
	}
	km, err := s.keepUnslotted(c, mr, body)
	if err != nil {
		return err
	}
	s.refused(refusedSessionEnded)
	return s.render(c, http.StatusForbidden, "followup", "Check your case",
		followupForm{Error: s.translate(c, sessionEndedKept...), Kept: km, uploadLimits: s.limits()})
}

// keepUnslotted keeps a message on a path that holds no upload slot and
// spends no submission budget (anyone may post to it): it takes one of the
// keep slots (2 × MaxConcurrentUploads) to read the whole form, file names
// included, while its files are read and dropped. With every keep slot
// taken, only the fields before the first file are read (the text is
// bounded as ever), the page says that file names could not be listed, and
// the rest of the body is left to bodyFraming, which drains a little and
// closes the connection.
func (s *Server) keepUnslotted(c *fiber.Ctx, mr *partReader, body *limitedBody) (*keptMessage, error) {
	select {
	case s.keeps <- struct{}{}:
		defer func() { <-s.keeps }()
		return s.keepMessage(c, mr, body, true)
	default:
		return s.keepMessage(c, mr, body, false)
	}
}

// keepMessage reads the rest of a message form without storing anything:
// its text and token are kept, and, if files, its files are read to learn
// their names and dropped (else reading stops at the first file). What
// cannot be read (a body over the limit, say) ends the reading; what was
// kept so far is still shown.
func (s *Server) keepMessage(c *fiber.Ctx, mr *partReader, body *limitedBody, files bool) (*keptMessage, error) {
	km := &keptMessage{}
	answerBytes := 0
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errPartUnnamed) {
			km.FileUnreadable = true
			return km, nil
		}
		if err != nil || parts >= s.cfg.MaxFiles+12+maxAnswerParts {
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
		case "questionnaire":
			var v string
			if v, err = readField(part, 64); err == nil {
				km.Questionnaire = strings.TrimSpace(v)
			}
		case "attachments":
			if !files {
				km.FilesUnread = true
				c.Context().SetConnectionClose()
				return km, nil
			}
			if name := part.FileName(); name != "" && len(km.Files) < s.cfg.MaxFiles {
				km.Files = append(km.Files, crypto.CleanAttachmentName(name))
			}
			_, err = io.Copy(io.Discard, part)
		default:
			if isIdentityField(part.FormName()) && part.FileName() == "" {
				if km.Identity == nil {
					km.Identity = &identityFields{}
				}
				err = km.Identity.read(part, false)
				break
			}
			// The answers of a report form, whatever its questionnaire:
			// the page that shows them again keeps only its questions'.
			if name := part.FormName(); strings.HasPrefix(name, "q_") && part.FileName() == "" && answerBytes < maxKeptAnswerBytes {
				var b []byte
				b, err = io.ReadAll(io.LimitReader(part, int64(maxAnswerFieldBytes)+1))
				if err == nil {
					v, _ := cutAnswer(string(b), maxAnswerFieldBytes)
					if km.Answers == nil {
						km.Answers = frontend.Answers{}
					}
					km.Answers[name] = append(km.Answers[name], v)
					answerBytes += len(v)
				}
				break
			}
			if strings.HasPrefix(part.FormName(), "q_") && part.FileName() != "" {
				// A file answering a question: as the other files.
				if !files {
					km.FilesUnread = true
					c.Context().SetConnectionClose()
					return km, nil
				}
				if len(km.Files) < s.cfg.MaxFiles {
					km.Files = append(km.Files, crypto.CleanAttachmentName(part.FileName()))
				}
				_, err = io.Copy(io.Discard, part)
				break
			}
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
