package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// loginCookie binds a login's passkey step to the browser that began it:
// it holds the random token whose hash names the step's ceremony
// (storage.Ceremony). Strict, like the staff session's cookie.
var loginCookie = cookieKind{name: "candour_login", sameSite: fiber.CookieSameSiteStrictMode, hostPrefix: true}

// passkeyRefusal is what a refused passkey login is told: as with a wrong
// code, not which check failed (the audit trail says).
const passkeyRefusal = "The passkey was not accepted, or the account is locked after too many attempts. " +
	"Start again from the login page, or log in with the code from your authenticator app."

// staffLoginPasskeyStep is the page between the password and the passkey.
type staffLoginPasskeyStep struct {
	CSRF     string
	Username string
	// Required: the organisation requires a passkey of this account's
	// role, so the app's code is not accepted; only a recovery code is
	// (Error says so when a code was refused).
	Required bool
	Error    string
}

// beginPasskeyStep, for an account whose password was right and whose code
// was left empty: if passkeys work here and it has one, stores the step
// (single use, ceremonyLife) bound to a new cookie, and returns the page
// that asks for the passkey; otherwise nil, and the login goes on without.
func (s *Server) beginPasskeyStep(c *fiber.Ctx, st storage.Staff) (*staffLoginPasskeyStep, error) {
	if _, off := s.relyingParty(); off != "" {
		return nil, nil
	}
	ctx := c.UserContext()
	n, err := s.db.CountPasskeys(ctx, st.ID)
	if err != nil || n == 0 {
		return nil, err
	}
	token := randomToken()
	step := storage.Ceremony{Purpose: storage.CeremonyLogin, Binding: storage.HashToken(token), StaffID: st.ID,
		CSRF: randomToken(), ExpiresAt: s.db.Now().Add(ceremonyLife)}
	if err := s.db.PutCeremony(ctx, step); err != nil {
		return nil, err
	}
	s.setCookie(c, loginCookie, token)
	required, err := s.passkeyOnly(ctx, st)
	if err != nil {
		return nil, err
	}
	return &staffLoginPasskeyStep{CSRF: step.CSRF, Username: st.Username, Required: required}, nil
}

// passkeyOnly reports whether the account must log in with its passkey:
// the policy requires one of its role, passkeys work here and it has one.
// Then the app's code is refused (it can be phished: relayed in real time
// by a look-alike page); a recovery code still works, audited and shown at
// the next login.
func (s *Server) passkeyOnly(ctx context.Context, st storage.Staff) (bool, error) {
	required, n, err := s.requiredPasskeys(ctx, st.ID, st.Role)
	return required && n > 0, err
}

// cloneDetail is the audit detail of a refused login whose signature
// counter went backwards; the passkey is suspended with it.
const cloneDetail = "the signature counter went backwards: the passkey may have been copied; it is suspended until removed"

// lateDetail is the audit detail of an answer whose counter is behind
// because another login with the same passkey was completed after its
// challenge was given (two tabs answered out of order): no sign of a copy.
const lateDetail = "another login with this passkey came first (its counter is behind one given later)"

// handleStaffLoginPasskey answers POST /staff/login/passkey (fields
// credential, the browser's PublicKeyCredential.toJSON() of the assertion,
// and csrf for the passkey step, or mode=passwordless): checks it against
// the challenge of this browser's step and, if it passes, opens the staff
// session; answers {"redirect": …}, or 401 {"error": …}. A refusal counts
// as a wrong code does (countLoginFailure) and spends the challenge; a
// signature counter that went backwards is refused and audited as a
// possible clone. Right or wrong, it takes at least LoginFloor.
func (s *Server) handleStaffLoginPasskey(c *fiber.Ctx) error {
	start := time.Now()
	form, err := readForm(c, 2*maxCredentialField)
	if err != nil {
		return err
	}
	rp, off := s.relyingParty()
	if off != "" {
		return jsonError(c, http.StatusConflict, off)
	}
	ctx := c.UserContext()
	now := s.db.Now()
	if d, err := s.throttle.globalDelay(ctx); err != nil {
		return err
	} else if d > 0 {
		time.Sleep(d)
	}
	alone := form.Get("mode") == "passwordless"
	purpose := storage.CeremonyLogin
	if alone {
		purpose = storage.CeremonyPasswordless
	}
	token := s.cookie(c, loginCookie)
	step, err := s.db.CeremonyFor(ctx, purpose, storage.HashToken(token))
	if token == "" || errors.Is(err, storage.ErrNotFound) || (err == nil && len(step.Data) == 0) {
		// Expired, or a replay of a challenge already answered: which
		// account is not known here (the step is gone), so it counts
		// in the overall throttle only.
		if err := s.loginFailed(c, storage.ActorUnknown, "", "passkey: no login step, or its challenge was used already", nil); err != nil {
			return err
		}
		s.waitFloor(start)
		return jsonError(c, http.StatusUnauthorized, "This login has expired or was used already. Start again from the login page.")
	}
	if err != nil {
		return err
	}
	if !alone && !constantTimeEqual(form.Get("csrf"), step.CSRF) {
		return jsonError(c, http.StatusForbidden, "This page has expired. Start again from the login page.")
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(step.Data, &session); err != nil {
		return err
	}
	refuse := func() error {
		s.waitFloor(start)
		return jsonError(c, http.StatusUnauthorized, passkeyRefusal)
	}
	parsed, perr := parseAssertion(form.Get("credential"))

	// The account: the step's, or for a passkey alone the one whose user
	// handle the authenticator gave.
	var st storage.Staff
	switch {
	case !alone:
		st, err = s.db.StaffByID(ctx, step.StaffID)
	case perr != nil:
		err = storage.ErrNotFound
	default:
		st, err = s.db.StaffByUserHandle(ctx, parsed.Response.UserHandle)
	}
	if errors.Is(err, storage.ErrNotFound) {
		if derr := s.db.DropCeremony(ctx, purpose, step.Binding); derr != nil {
			return derr
		}
		detail := "passkey alone: unknown passkey"
		if perr != nil {
			detail = "passkey: " + webauthnReason(perr)
		}
		if err := s.loginFailed(c, storage.ActorUnknown, "", detail, nil); err != nil {
			return err
		}
		return refuse()
	}
	if err != nil {
		return err
	}
	unlock := s.throttle.lockName(strings.ToLower(st.Username))
	defer unlock()
	if st, err = s.db.StaffByID(ctx, st.ID); err != nil {
		return err
	}
	how := "passkey"
	if alone {
		how = "passkey alone"
	}
	fail := func(action, detail string, also ...func(context.Context) error) error {
		if err := s.db.DropCeremony(ctx, purpose, step.Binding); err != nil {
			return err
		}
		if err := s.countLoginFailure(c, st, action, how+": "+detail, also...); err != nil {
			return err
		}
		return refuse()
	}
	// Under the lock: an answer sent twice at once finds its challenge
	// spent by the first (a replay, not a clone).
	if again, err := s.db.CeremonyFor(ctx, purpose, step.Binding); errors.Is(err, storage.ErrNotFound) || (err == nil && string(again.Data) != string(step.Data)) {
		return fail("staff.login_failed", "the challenge was used already")
	} else if err != nil {
		return err
	}
	if st.Disabled || !st.Enrolled() {
		return fail("staff.login_failed", "account disabled or not enrolled")
	}
	if now.Before(st.LockedUntil) {
		return fail("staff.login_failed", "account locked")
	}
	if perr != nil {
		return fail("staff.login_failed", webauthnReason(perr))
	}
	user, err := s.loadPasskeyUser(ctx, st)
	if err != nil {
		return err
	}
	var cred *webauthn.Credential
	if alone {
		cred, err = rp.ValidateDiscoverableLogin(func(_, _ []byte) (webauthn.User, error) { return user, nil }, session, parsed)
	} else {
		cred, err = rp.ValidateLogin(user, session, parsed)
	}
	if err != nil {
		return fail("staff.login_failed", webauthnReason(err))
	}
	policy, err := s.db.PasskeyPolicy(ctx)
	if err != nil {
		return err
	}
	// The library checks user verification when the challenge asked for
	// it; this says so again where it is required, whatever the stored
	// challenge says.
	if (alone || policy.UV) && !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return fail("staff.login_failed", "no user verification")
	}
	if user.suspended[string(cred.ID)] {
		return fail("staff.login_failed", "passkey suspended since its signature counter went backwards")
	}
	// Two copies of the passkey exist. The one that answered may be the
	// genuine one and the clone ahead of it, so the passkey is suspended
	// with the refusal: from now on neither copy logs in.
	suspend := func(ctx context.Context) error { return s.db.SuspendPasskey(ctx, st.ID, cred.ID, now) }
	if cred.Authenticator.CloneWarning {
		// Unless another login with this passkey was completed after this
		// challenge was given: two tabs whose answers arrived in the
		// reverse order of signing. That answer is refused (it is behind),
		// but it shows no copy.
		if user.lastUsed[string(cred.ID)].After(step.ExpiresAt.Add(-ceremonyLife)) {
			return fail("staff.login_failed", lateDetail)
		}
		return fail("staff.passkey_clone_refused", cloneDetail, suspend)
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	old := s.cookie(c, staffCookie)
	sessionToken := randomToken()
	sess := storage.StaffSession{TokenHash: storage.HashToken(sessionToken), StaffID: st.ID, CSRF: randomToken(), CreatedAt: now, LastSeen: now}
	e := storage.AuditEntry{Actor: st.Username, Action: "staff.login", Target: st.Username, Detail: s.staffNetwork(c, "with "+how)}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		if err := s.db.TakeCeremony(ctx, purpose, step.Binding, step.Data); err != nil {
			return err
		}
		if err := s.db.UsePasskey(ctx, st.ID, cred.ID, record, cred.Authenticator.SignCount, now); err != nil {
			return err
		}
		if err := s.db.ArmRecoveryNotice(ctx, st.ID, sess.TokenHash); err != nil {
			return err
		}
		return s.openStaffSession(ctx, st.ID, old, sess)
	})
	switch {
	case errors.Is(err, storage.ErrSignCount):
		// Another login with this passkey was completed while this one
		// was checked: refused as behind, like two tabs out of order.
		return fail("staff.login_failed", lateDetail)
	case errors.Is(err, storage.ErrPasskeySuspended):
		return fail("staff.login_failed", "passkey suspended since its signature counter went backwards")
	case errors.Is(err, storage.ErrNotFound):
		// The challenge was used meanwhile: a replay.
		return fail("staff.login_failed", "the challenge was used already")
	case errors.Is(err, storage.ErrLoginLocked):
		// Locked meanwhile, by failures on another instance.
		return fail("staff.login_failed", "account locked")
	case err != nil:
		return err
	}
	s.waitFloor(start)
	s.expireCookie(c, loginCookie)
	s.setCookie(c, staffCookie, sessionToken)
	return c.JSON(fiber.Map{"redirect": staffHome(st.Role)})
}
