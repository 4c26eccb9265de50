package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// errCodeSpent aborts a login's change whose TOTP step or recovery code
// was used already: the login is refused as any other wrong code.
var errCodeSpent = errors.New("the code was used already")

const loginRefusal = "The username, password or code is wrong, or the account is locked after too many attempts. " +
	"Wait a little and try again."

// handleStaffLogin answers POST /staff/login: checks username, password and
// TOTP code (or a one-time recovery code). Every path runs one Argon2id
// verification (a dummy hash for unknown usernames) and takes at least
// LoginFloor, so timing does not tell which part was wrong or whether the
// account exists.
func (s *Server) handleStaffLogin(c *fiber.Ctx) error {
	start := time.Now()
	form, err := readForm(c, 8<<10)
	if err != nil {
		return err
	}
	username := strings.TrimSpace(form.Get("username"))
	password, code := form.Get("password"), strings.TrimSpace(form.Get("totp"))
	ctx := c.UserContext()
	now := s.db.Now()
	if d, err := s.throttle.globalDelay(ctx); err != nil {
		return err
	} else if d > 0 {
		time.Sleep(d)
	}

	// One attempt per username at a time within this instance (the lock
	// itself holds across instances: login_throttle.go).
	name := strings.ToLower(username)
	unlock := s.throttle.lockName(name)
	defer unlock()
	st, err := s.db.StaffByUsername(ctx, username)
	exists := err == nil
	known := exists && st.Enrolled() && !st.Disabled
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	hash := crypto.DummyPasswordHash()
	if known {
		hash = st.PasswordHash
	}
	var pwOK bool
	var nameHash []byte
	if perr := s.staffKDF.run(ctx, func() {
		pwOK, _ = crypto.VerifyPassword(hash, password)
		nameHash = s.throttle.nameHash(name)
	}); perr != nil {
		return perr
	}
	locked := known && now.Before(st.LockedUntil)
	if !known {
		if locked, err = s.throttle.nameLocked(ctx, nameHash); err != nil {
			return err
		}
	}
	ok := known && pwOK && !locked
	if ok && code == "" {
		// No code: with a passkey, the password step is done, and the
		// passkey is asked for (staff_login_passkey.go). Nothing is
		// counted as failed yet.
		step, err := s.beginPasskeyStep(c, st)
		if err != nil {
			return err
		}
		if step != nil {
			s.waitFloor(start)
			return s.render(c, http.StatusOK, "staff_login_passkey", "Confirm with your passkey", *step)
		}
	}
	method := "totp"
	var step int64
	if ok {
		var totpOK bool
		step, totpOK = crypto.ValidateTOTP(st.TOTPSecret, code, now)
		switch {
		case totpOK:
			// Where the account must use its passkey, the app's code
			// (which a look-alike page can relay) is refused, right or
			// wrong, and the passkey asked for again. Audited, not
			// counted: the password and code were right.
			only, err := s.passkeyOnly(ctx, st)
			if err != nil {
				return err
			}
			if !only {
				break
			}
			if err := s.audit(ctx, st.Username, "staff.login_failed", st.Username, s.staffNetwork(c, "code from the app refused: a passkey is required")); err != nil {
				return err
			}
			pstep, err := s.beginPasskeyStep(c, st)
			if err != nil {
				return err
			}
			if pstep == nil { // its passkey was removed meanwhile
				ok = false
				break
			}
			pstep.Error = "Your organisation requires your passkey or security key for this account: the code from your authenticator app is not accepted. Use your passkey, or a recovery code if you have lost it."
			s.waitFloor(start)
			return s.render(c, http.StatusUnauthorized, "staff_login_passkey", "Confirm with your passkey", *pstep)
		case crypto.HashRecoveryCode(code) != nil:
			method = "recovery code"
		default:
			ok = false
		}
	}
	if ok {
		// Spending the code (the TOTP step, or the recovery code), ending
		// this browser's previous session, opening the new one and the
		// audit entry commit together, or none of them does: a login that
		// fails leaves its code unspent, and a code is never spent without
		// its entry. Spending is a compare-and-set in the transaction, so
		// a code already used (a replay) refuses the login.
		old := s.cookie(c, staffCookie)
		token := randomToken()
		sess := storage.StaffSession{TokenHash: storage.HashToken(token), StaffID: st.ID, CSRF: randomToken(), CreatedAt: now, LastSeen: now}
		e := storage.AuditEntry{Actor: st.Username, Action: "staff.login", Target: st.Username, Detail: s.staffNetwork(c, "with "+method)}
		err := s.db.Change(ctx, &e, func(ctx context.Context) error {
			var spent bool
			var err error
			if method == "totp" {
				spent, err = s.db.AcceptTOTPStep(ctx, st.ID, step)
			} else {
				spent, err = s.db.UseRecoveryCode(ctx, st.ID, crypto.HashRecoveryCode(code))
			}
			if err != nil {
				return err
			}
			if !spent {
				return errCodeSpent
			}
			if method == "totp" {
				// A recovery code used last time is shown at this login.
				err = s.db.ArmRecoveryNotice(ctx, st.ID, sess.TokenHash)
			} else {
				err = s.db.NoteRecoveryLogin(ctx, st.ID, now)
			}
			if err != nil {
				return err
			}
			return s.openStaffSession(ctx, st.ID, old, sess)
		})
		switch {
		case errors.Is(err, errCodeSpent), errors.Is(err, storage.ErrLoginLocked):
			// A code used already, or the account was locked meanwhile
			// (by failures on another instance): refused and counted.
			ok = false
		case err != nil:
			return err
		default:
			s.waitFloor(start)
			s.setCookie(c, staffCookie, token)
			return c.Redirect(staffHome(st.Role), http.StatusSeeOther)
		}
	}
	if known {
		if err := s.countLoginFailure(c, st, "staff.login_failed", ""); err != nil {
			return err
		}
	} else if exists {
		// A disabled or not yet enrolled account: worth seeing in the trail.
		if err := s.loginFailed(c, st.Username, st.Username, "account disabled or not enrolled", nameHash); err != nil {
			return err
		}
	} else {
		if err := s.loginFailed(c, storage.ActorUnknown, "", "unknown or unenrolled username", nameHash); err != nil {
			return err
		}
	}
	s.waitFloor(start)
	return s.staffLoginPage(c, http.StatusUnauthorized, staffLoginForm{Error: loginRefusal, Username: username})
}

// countLoginFailure counts a failed login of a known account, as a wrong
// password or code does, whatever failed (a passkey's answer too): the
// account's failure count and lock (set from the count as stored, so
// failures counted on other instances meanwhile count too; a lock is never
// shortened), the overall throttle, and the audit entry (action, with
// detail), in one change, with also's changes if any.
func (s *Server) countLoginFailure(c *fiber.Ctx, st storage.Staff, action, detail string, also ...func(context.Context) error) error {
	e := storage.AuditEntry{Actor: st.Username, Action: action, Target: st.Username, Detail: s.staffNetwork(c, detail)}
	return s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		if _, _, err := s.db.CountStaffLoginFailure(ctx, st.ID, lockFor); err != nil {
			return err
		}
		for _, f := range also {
			if err := f(ctx); err != nil {
				return err
			}
		}
		return s.throttle.failed(ctx, nil)
	})
}

// loginFailed counts a failed login that no enabled account answers for
// (actor and target as the audit entry names them): overall, and for the
// typed name when nameHash is given, with its audit entry, in one change.
func (s *Server) loginFailed(c *fiber.Ctx, actor, target, detail string, nameHash []byte) error {
	e := storage.AuditEntry{Actor: actor, Action: "staff.login_failed", Target: target, Detail: s.staffNetwork(c, detail)}
	return s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.throttle.failed(ctx, nameHash)
	})
}

func (s *Server) waitFloor(start time.Time) {
	if wait := s.cfg.LoginFloor - time.Since(start); wait > 0 {
		time.Sleep(wait)
	}
}

// openStaffSession, inside a login's change: checks that the account is
// not locked (storage.ErrLoginLocked: failures on another instance may
// have locked it since its credentials were read), clears its failed
// logins, ends this browser's previous session (old, its cookie token, if
// any) and opens sess.
func (s *Server) openStaffSession(ctx context.Context, staffID int64, old string, sess storage.StaffSession) error {
	if err := s.db.EnsureStaffUnlocked(ctx, staffID); err != nil {
		return err
	}
	if err := s.db.ResetLoginFailures(ctx, staffID); err != nil {
		return err
	}
	if old != "" {
		if err := s.db.DeleteStaffSession(ctx, storage.HashToken(old)); err != nil {
			return err
		}
	}
	return s.db.CreateStaffSession(ctx, sess)
}
