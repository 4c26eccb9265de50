package server

import (
	"errors"
	"net/http"
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
// content nor the timing of the answer says why a code was refused.
func (s *Server) handleFollowupCheck(c *fiber.Ctx) error {
	start := time.Now()
	form, err := readForm(c, 4<<10)
	if err != nil {
		return err
	}
	code, perr := crypto.ParseCaseCode(form.Get("code"))
	if perr != nil {
		code = s.dummyCode
	}
	ctx := c.UserContext()
	var found storage.Case
	var identity *crypto.CaseIdentity
	for _, set := range s.kdfSets {
		keys, err := s.caseKDF.derive(ctx, false, set.params, code)
		if err != nil {
			return err
		}
		cs, err := s.db.CaseByLookup(ctx, set.id, keys.LookupID)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if perr == nil {
			if id, err := crypto.UnwrapCaseIdentity(keys, cs.WrappedIdentity); err == nil {
				found, identity = cs, id
			}
		}
		break
	}
	if wait := s.cfg.LoginFloor - time.Since(start); wait > 0 {
		time.Sleep(wait)
	}
	if identity == nil {
		return s.render(c, http.StatusForbidden, "followup", "Check your case", followupForm{Error: s.translate(c, refusal...)})
	}
	// A new login ends the browser's previous session, if any, so that no
	// unwrapped case key lingers in memory unused.
	s.sessions.remove(s.cookie(c, sessionCookie))
	token, _ := s.sessions.create(found.ID, identity)
	s.setCookie(c, sessionCookie, token)
	return c.Redirect("/case", http.StatusSeeOther)
}

// session returns the reporter's live follow-up session, if any.
func (s *Server) session(c *fiber.Ctx) (*session, bool) {
	return s.sessions.get(s.cookie(c, sessionCookie))
}

// handleCaseLogout answers POST /case/logout: ends the reporter's follow-up
// session.
func (s *Server) handleCaseLogout(c *fiber.Ctx) error {
	sess, ok := s.session(c)
	if !ok {
		s.expireCookie(c, sessionCookie)
		return c.Redirect("/", http.StatusSeeOther)
	}
	form, err := readForm(c, 4<<10)
	if err != nil {
		return err
	}
	if !sess.checkCSRF(form.Get("csrf")) {
		return errCSRF
	}
	s.sessions.remove(s.cookie(c, sessionCookie))
	s.expireCookie(c, sessionCookie)
	return c.Redirect("/", http.StatusSeeOther)
}
