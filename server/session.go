package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/candour/candour/crypto"
)

// A follow-up session holds the case identity unwrapped by the reporter's
// code, needed to show their thread, which must never reach the disk in a
// form the server alone can open. On SQLite (one instance) sessions live
// only in this process's memory (memorySessions): a restart ends every
// session. When several instances share a PostgreSQL database, a
// reporter's next request may land on another instance, so sessions are
// in the database, sealed under a key that only the reporter's cookie
// holds (dbSessions, session_db.go).
type session struct {
	caseID   int64
	identity *crypto.CaseIdentity
	csrf     string
	created  time.Time
	lastSeen time.Time
	// used orders sessions by their last use, for eviction: a counter,
	// not lastSeen, whose ties (a coarse or frozen clock) would leave the
	// choice to the map's random order.
	used uint64
}

// Sessions are bounded in all and per case, so that no one, not even a
// holder of a valid code logging in again and again, can fill the table and
// lock others out: past either bound the least recently used session goes.
const (
	maxSessions        = 10000
	maxSessionsPerCase = 3
)

// sessionStore is where follow-up sessions are kept: memorySessions or
// dbSessions. Errors of the database are logged by the store, and a
// session it cannot read is no session (the reporter logs in again).
type sessionStore interface {
	// create starts a session on a case and returns its cookie token.
	create(ctx context.Context, caseID int64, id *crypto.CaseIdentity) (string, error)
	// get returns the live session for token and marks it used.
	get(ctx context.Context, token string) (*session, bool)
	remove(ctx context.Context, token string)
	// removeCase ends every session of a case (withdrawn or deleted).
	removeCase(ctx context.Context, caseID int64)
	// sweep drops expired sessions.
	sweep(ctx context.Context)
}

// memorySessions keeps sessions in this process's memory.
type memorySessions struct {
	mu       sync.Mutex
	byHash   map[[32]byte]*session
	uses     uint64 // the last session.used given
	idle     time.Duration
	lifetime time.Duration
	now      func() time.Time
}

// newSessionStore makes an empty store. Its owner calls sweep now and then
// (the Server, in the background), to drop expired sessions nobody asks
// for.
func newSessionStore(idle, lifetime time.Duration, now func() time.Time) *memorySessions {
	return &memorySessions{byHash: map[[32]byte]*session{}, idle: idle, lifetime: lifetime, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns its token, for the cookie. Only a hash
// of the token is kept, so the map holds nothing a reader of memory could
// present as a cookie.
func (s *memorySessions) create(_ context.Context, caseID int64, id *crypto.CaseIdentity) (string, error) {
	token := randomToken()
	now := s.now()
	sess := &session{caseID: caseID, identity: id, csrf: randomToken(), created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uses++
	sess.used = s.uses
	s.expireLocked(now)
	s.evictLocked(func(o *session) bool { return o.caseID == caseID }, maxSessionsPerCase-1)
	s.evictLocked(func(*session) bool { return true }, maxSessions-1)
	s.byHash[sha256.Sum256([]byte(token))] = sess
	return token, nil
}

// evictLocked removes the least recently used sessions matching match
// until at most keep of them remain.
func (s *memorySessions) evictLocked(match func(*session) bool, keep int) {
	for {
		var n int
		var oldestKey [32]byte
		var oldest *session
		for k, o := range s.byHash {
			if !match(o) {
				continue
			}
			n++
			if oldest == nil || o.used < oldest.used {
				oldest, oldestKey = o, k
			}
		}
		if n <= keep {
			return
		}
		delete(s.byHash, oldestKey)
	}
}

func (s *memorySessions) get(_ context.Context, token string) (*session, bool) {
	if token == "" {
		return nil, false
	}
	key := sha256.Sum256([]byte(token))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byHash[key]
	if !ok {
		return nil, false
	}
	if s.expired(sess, now) {
		delete(s.byHash, key)
		return nil, false
	}
	sess.lastSeen = now
	s.uses++
	sess.used = s.uses
	return sess, true
}

func (s *memorySessions) remove(_ context.Context, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byHash, sha256.Sum256([]byte(token)))
}

func (s *memorySessions) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.lastSeen) > s.idle || now.Sub(sess.created) > s.lifetime
}

func (s *memorySessions) expireLocked(now time.Time) {
	for k, sess := range s.byHash {
		if s.expired(sess, now) {
			delete(s.byHash, k)
		}
	}
}

func (s *memorySessions) sweep(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(s.now())
}

// checkCSRF compares a submitted token with the session's in constant time.
func (sess *session) checkCSRF(got string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}

// constantTimeEqual compares two tokens without revealing, through timing,
// how much of them matched.
func constantTimeEqual(a, b string) bool {
	return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *memorySessions) removeCase(_ context.Context, caseID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, sess := range s.byHash {
		if sess.caseID == caseID {
			delete(s.byHash, k)
		}
	}
}
