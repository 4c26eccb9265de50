package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// refusal is the one answer to every code that does not open a case, be it
// malformed, unknown, or (in theory) one that finds a case but does not
// unwrap it.
var refusal = []phrase{say("We could not open a case with that code. Check it and try again."),
	say("Codes cannot be recovered; if yours is lost, you can make a new report.")}

// handleFollowupCheck answers POST /followup: logs a reporter in with their
// case code. Every path runs the same Argon2id derivations, and the answer
// waits until LoginFloor has passed since the request began, so neither the
// content nor the timing of the answer says why a code was refused. The code
// form that carries a kept message (see message_kept.go) is a multipart
// upload: see followupWithMessage.
func (s *Server) handleFollowupCheck(c *fiber.Ctx) error {
	start := time.Now()
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), "multipart/form-data") {
		return s.followupWithMessage(c, start)
	}
	form, err := readForm(c, 4<<10)
	if err != nil {
		return err
	}
	found, identity, err := s.checkCode(c.UserContext(), start, form.Get("code"))
	if err != nil {
		return err
	}
	if identity == nil {
		s.refused(refusedWrongCode)
		return s.render(c, http.StatusForbidden, "followup", "Check your case",
			followupForm{Error: s.translate(c, refusal...), Code: echoCode(form.Get("code"))})
	}
	if err := s.startSession(c, found, identity); err != nil {
		return err
	}
	return c.Redirect("/case", http.StatusSeeOther)
}

// followupWithMessage checks the code, the form's first part, and then
// receives the rest of the form as a message on the case, as if sent from
// the case page. A refused code gets the same refusal as ever, and a busy
// service (Argon2id pool, upload slots or budget full) its busy answer,
// each with the message kept again. The session opens only once the
// message is stored (or found stored already): a failed or empty upload
// leaves no unwrapped case key in a session nobody uses.
func (s *Server) followupWithMessage(c *fiber.Ctx, start time.Time) error {
	mr, body, err := s.openMultipart(c, nil, nil)
	if err != nil {
		return err
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "code" {
		return badUpload(say("The form was not sent as expected."))
	}
	code, err := readField(part, 4<<10)
	if err != nil {
		return badUpload(say("The form could not be read."))
	}
	part.Close()
	ctx := c.UserContext()
	found, identity, err := s.checkCode(ctx, start, code)
	if err != nil {
		return s.keepBusy(c, mr, body, code, err)
	}
	if identity == nil {
		km, err := s.keepUnslotted(c, mr, body)
		if err != nil {
			return err
		}
		s.refused(refusedWrongCode)
		return s.render(c, http.StatusForbidden, "followup", "Check your case",
			followupForm{Error: s.translate(c, refusal...), Code: echoCode(code), Kept: km, uploadLimits: s.limits()})
	}
	release, err := s.acquireUpload(ctx)
	if err != nil {
		return s.keepBusy(c, mr, body, code, err)
	}
	defer release()
	recipients, err := s.recipients().ForCaseIdentity(identity)
	if err != nil {
		return err
	}
	up, err := s.receiveParts(c, mr, body, recipients, nil)
	release()
	if errors.Is(err, errRepeat) {
		// Stored already, and the code is right: the case opens to show it.
		if err := s.startSession(c, found, identity); err != nil {
			return err
		}
		return errMessageRepeat
	}
	if err != nil {
		return err
	}
	if err := s.storeReporterMessage(ctx, found.ID, recipients, up); err != nil {
		if errors.Is(err, errMessageRepeat) {
			if err := s.startSession(c, found, identity); err != nil {
				return err
			}
		}
		return err
	}
	if err := s.startSession(c, found, identity); err != nil {
		return err
	}
	return c.Redirect("/case?sent=1", http.StatusSeeOther)
}

// keepBusy answers a code form with a message that the service was too
// busy to take (cause, a userError: the Argon2id pool, the upload slots or
// the submission budget was full): its busy page, as the code form again
// with the typed code and the message kept, to send in a minute. It is
// counted once, as busy or as what was wrong with the rest of the form.
func (s *Server) keepBusy(c *fiber.Ctx, mr *partReader, body *limitedBody, code string, cause error) error {
	var ue *userError
	if !errors.As(cause, &ue) {
		return cause
	}
	km, err := s.keepUnslotted(c, mr, body)
	if err != nil {
		return err
	}
	s.countRefusal(c, ue)
	return s.render(c, ue.status, "followup", "Check your case",
		followupForm{Error: s.translate(c, ue.message...), Code: echoCode(code), Kept: km, uploadLimits: s.limits()})
}

// echoCode is the typed code as the refusal shows it again: as typed, but
// valid UTF-8 and no longer than a code with generous spacing could be.
func echoCode(typed string) string {
	typed = strings.ToValidUTF8(typed, "")
	if len(typed) > 100 {
		typed = typed[:100]
		typed = strings.ToValidUTF8(typed, "")
	}
	return typed
}

// checkCode finds the case a typed code opens and unwraps its identity, or
// returns a nil identity, after the same work and no sooner than
// LoginFloor after start, whatever was wrong with the code.
func (s *Server) checkCode(ctx context.Context, start time.Time, typed string) (storage.Case, *crypto.CaseIdentity, error) {
	code, perr := crypto.ParseCaseCode(typed)
	if perr != nil {
		code = s.dummyCode
	}
	// One turn in the pool for all of a login's derivations (one per
	// parameter set still in use): a login that needs a second one keeps
	// its place rather than queueing again behind a flood.
	if err := s.caseKDF.acquire(ctx, false); err != nil {
		return storage.Case{}, nil, err
	}
	found, identity, err := s.findCase(ctx, code, perr == nil)
	s.caseKDF.finish()
	if err != nil {
		return storage.Case{}, nil, err
	}
	if wait := s.cfg.LoginFloor - time.Since(start); wait > 0 {
		time.Sleep(wait)
	}
	return found, identity, nil
}

// findCase runs the derivations of a login, within a slot of the pool
// that the caller holds: the case that code finds, and its identity if
// the code is real (a stand-in for a malformed one finds nothing). It
// tries the parameter sets the instance knows, newest first; if all miss,
// those that another instance stored since (kdfSets.newer), which every
// login that misses asks for, whatever its code.
func (s *Server) findCase(ctx context.Context, code crypto.CaseCode, real bool) (storage.Case, *crypto.CaseIdentity, error) {
	known := s.kdfSets.known()
	found, identity, hit, err := s.tryKDFSets(ctx, known, code, real)
	if err != nil || hit {
		return found, identity, err
	}
	fresh, err := s.kdfSets.newer(ctx, s.db, known)
	if err != nil {
		return storage.Case{}, nil, err
	}
	found, identity, _, err = s.tryKDFSets(ctx, fresh, code, real)
	return found, identity, err
}

// tryKDFSets derives code with each of sets in turn until one finds a case
// (hit), and unwraps that case's identity if the code is real.
func (s *Server) tryKDFSets(ctx context.Context, sets []kdfSet, code crypto.CaseCode, real bool) (found storage.Case, identity *crypto.CaseIdentity, hit bool, err error) {
	for _, set := range sets {
		keys, err := set.params.Derive(code)
		if err != nil {
			return storage.Case{}, nil, false, err
		}
		cs, err := s.db.CaseByLookup(ctx, set.id, keys.LookupID)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return storage.Case{}, nil, false, err
		}
		if real {
			if id, err := crypto.UnwrapCaseIdentity(keys, cs.WrappedIdentity); err == nil {
				found, identity = cs, id
			}
		}
		return found, identity, true, nil
	}
	return storage.Case{}, nil, false, nil
}

// sessionStartedKey marks a request that opened a session (see onCase).
type sessionStartedKey struct{}

// startSession opens a follow-up session on a case and sets its cookie. A
// new login ends the browser's previous session, if any, so that no
// unwrapped case key lingers in memory unused.
func (s *Server) startSession(c *fiber.Ctx, cs storage.Case, identity *crypto.CaseIdentity) error {
	ctx := c.UserContext()
	s.sessions.remove(ctx, s.cookie(c, sessionCookie))
	token, err := s.sessions.create(ctx, cs.ID, identity)
	if err != nil {
		return fmt.Errorf("failed to start follow-up session: %w", err)
	}
	c.Locals(sessionStartedKey{}, true)
	s.setCookie(c, sessionCookie, token)
	return nil
}

// session returns the reporter's live follow-up session, if any.
func (s *Server) session(c *fiber.Ctx) (*session, bool) {
	return s.sessions.get(c.UserContext(), s.cookie(c, sessionCookie))
}
