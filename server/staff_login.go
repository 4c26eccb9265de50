package server

import (
	"context"
	"errors"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// Login throttling, on top of what pquerna/otp does (nothing): after
// freeFailures wrong attempts an account is locked for a delay that doubles
// with each further failure, up to maxLock. Unknown usernames are throttled
// the same way, in memory, so that a lock reveals nothing about which
// accounts exist. Overall, once more than globalBudget failures happened in
// the last minute, every attempt waits longer, whatever the account.
const (
	freeFailures = 3
	baseLock     = 5 * time.Second
	maxLock      = 15 * time.Minute
	globalBudget = 30
)

func lockFor(failures int) time.Duration {
	if failures < freeFailures {
		return 0
	}
	d := baseLock << min(failures-freeFailures, 20)
	return min(d, maxLock)
}

type loginThrottle struct {
	names    [64]sync.Mutex // striped per-username locks
	mu       sync.Mutex
	unknown  map[string]unknownFailures
	failures []time.Time // failures in the last minute, overall
}

type unknownFailures struct {
	count       int
	lockedUntil time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{unknown: map[string]unknownFailures{}}
}

// globalDelay is the extra wait for every attempt while failures overall
// are over budget.
func (t *loginThrottle) globalDelay(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	cut := 0
	for cut < len(t.failures) && now.Sub(t.failures[cut]) > time.Minute {
		cut++
	}
	t.failures = t.failures[cut:]
	over := len(t.failures) - globalBudget
	if over <= 0 {
		return 0
	}
	return min(time.Duration(over)*200*time.Millisecond, 10*time.Second)
}

func (t *loginThrottle) fail(now time.Time, unknownName string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures = append(t.failures, now)
	if unknownName != "" {
		if len(t.unknown) > 10000 {
			t.unknown = map[string]unknownFailures{}
		}
		u := t.unknown[unknownName]
		u.count++
		u.lockedUntil = now.Add(lockFor(u.count))
		t.unknown[unknownName] = u
	}
}

// lockName serialises login attempts for one username.
func (t *loginThrottle) lockName(name string) (unlock func()) {
	h := fnv.New32a()
	h.Write([]byte(name))
	m := &t.names[h.Sum32()%uint32(len(t.names))]
	m.Lock()
	return m.Unlock
}

func (t *loginThrottle) unknownLocked(now time.Time, name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return now.Before(t.unknown[name].lockedUntil)
}

type staffLoginForm struct {
	Error    string
	Username string
}

func (s *Server) handleStaffLoginForm(c *fiber.Ctx) error {
	if u, err := s.currentStaff(c); err == nil && u != nil {
		return c.Redirect("/staff/", http.StatusSeeOther)
	}
	return s.render(c, http.StatusOK, "staff_login", "Staff login", staffLoginForm{})
}

const loginRefusal = "The username, password or code is wrong, or the account is locked after too many attempts. " +
	"Wait a little and try again."

// handleStaffLogin checks username, password and TOTP code (or a one-time
// recovery code). Every path runs one Argon2id verification (a dummy hash
// for unknown usernames) and takes at least LoginFloor, so timing does not
// tell which part was wrong or whether the account exists.
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
	if d := s.throttle.globalDelay(now); d > 0 {
		time.Sleep(d)
	}

	// One attempt per username at a time: parallel attempts would all read
	// the account before any failure was counted, and so bypass the lock.
	unlock := s.throttle.lockName(strings.ToLower(username))
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
	if perr := s.staffKDF.run(ctx, func() { pwOK, _ = crypto.VerifyPassword(hash, password) }); perr != nil {
		return perr
	}
	locked := (known && now.Before(st.LockedUntil)) || (!known && s.throttle.unknownLocked(now, strings.ToLower(username)))
	ok := known && pwOK && !locked
	method := "totp"
	if ok {
		step, totpOK := crypto.ValidateTOTP(st.TOTPSecret, code, now)
		switch {
		case totpOK:
			accepted, err := s.db.AcceptTOTPStep(ctx, st.ID, step)
			if err != nil {
				return err
			}
			ok = accepted // a code already used is refused: replay
		case crypto.HashRecoveryCode(code) != nil:
			used, err := s.db.UseRecoveryCode(ctx, st.ID, crypto.HashRecoveryCode(code))
			if err != nil {
				return err
			}
			ok, method = used, "recovery code"
		default:
			ok = false
		}
	}
	if !ok {
		if known {
			// Under the username's lock the row is current; a lock is
			// never shortened.
			until := now.Add(lockFor(st.FailedLogins + 1))
			if st.LockedUntil.After(until) {
				until = st.LockedUntil
			}
			if _, err := s.db.RecordLoginFailure(ctx, st.ID, until); err != nil {
				return err
			}
			if err := s.audit(ctx, st.Username, "staff.login_failed", st.Username, s.staffNetwork(c, "")); err != nil {
				return err
			}
		} else if exists {
			// A disabled or not yet enrolled account: worth seeing in the trail.
			s.throttle.fail(now, strings.ToLower(username))
			if err := s.audit(ctx, st.Username, "staff.login_failed", st.Username, s.staffNetwork(c, "account disabled or not enrolled")); err != nil {
				return err
			}
		} else {
			s.throttle.fail(now, strings.ToLower(username))
			if err := s.audit(ctx, "unknown", "staff.login_failed", "", s.staffNetwork(c, "unknown or unenrolled username")); err != nil {
				return err
			}
		}
		if known {
			s.throttle.fail(now, "")
		}
		s.waitFloor(start)
		return s.render(c, http.StatusUnauthorized, "staff_login", "Staff login",
			staffLoginForm{Error: loginRefusal, Username: username})
	}
	if err := s.db.ResetLoginFailures(ctx, st.ID); err != nil {
		return err
	}
	// Rotate: whatever session this browser had ends now.
	if old := c.Cookies(s.staffCookieName()); old != "" {
		if err := s.db.DeleteStaffSession(ctx, tokenHash(old)); err != nil {
			return err
		}
	}
	token := randomToken()
	if err := s.db.CreateStaffSession(ctx, storage.StaffSession{
		TokenHash: tokenHash(token), StaffID: st.ID, CSRF: randomToken(), CreatedAt: now, LastSeen: now,
	}); err != nil {
		return err
	}
	if err := s.audit(ctx, st.Username, "staff.login", st.Username, s.staffNetwork(c, "with "+method)); err != nil {
		return err
	}
	s.waitFloor(start)
	s.setStaffCookie(c, token)
	return c.Redirect("/staff/", http.StatusSeeOther)
}

func (s *Server) waitFloor(start time.Time) {
	if wait := s.cfg.LoginFloor - time.Since(start); wait > 0 {
		time.Sleep(wait)
	}
}

// audit appends to the hash-chained audit trail. It never records report
// content or network data.
// staffNetwork adds the client's address to a staff login's audit detail
// when the operator opted in with AuditStaffNetwork; by default the audit
// trail holds no network data. Reporter requests never come here.
func (s *Server) staffNetwork(c *fiber.Ctx, detail string) string {
	if !s.cfg.AuditStaffNetwork {
		return detail
	}
	addr, ok := s.clientAddr(c)
	if !ok {
		return detail
	}
	if detail == "" {
		return "from " + addr.String()
	}
	return detail + ", from " + addr.String()
}

func (s *Server) audit(ctx context.Context, actor, action, target, detail string) error {
	_, err := s.db.AppendAudit(ctx, storage.AuditEntry{Actor: actor, Action: action, Target: target, Detail: detail})
	return err
}

func (s *Server) handleStaffLogout(c *fiber.Ctx) error {
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	u := staffOf(c)
	if err := s.db.DeleteStaffSession(c.UserContext(), u.session.TokenHash); err != nil {
		return err
	}
	if err := s.audit(c.UserContext(), u.Username, "staff.logout", u.Username, ""); err != nil {
		return err
	}
	s.clearStaffCookie(c)
	return c.Redirect("/staff/login", http.StatusSeeOther)
}

func (s *Server) handleStaffLogoutEverywhere(c *fiber.Ctx) error {
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	u := staffOf(c)
	if err := s.db.DeleteStaffSessions(c.UserContext(), u.ID); err != nil {
		return err
	}
	if err := s.audit(c.UserContext(), u.Username, "staff.logout_everywhere", u.Username, ""); err != nil {
		return err
	}
	s.clearStaffCookie(c)
	return c.Redirect("/staff/login", http.StatusSeeOther)
}
