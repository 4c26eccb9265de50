package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The rules about staff accounts live here, beside the rows they guard,
// rather than in the HTTP server: the server and the command line
// (candour admin create) both create accounts and enrolment links, and
// neither should reach into the other for the rules. Storage keeps the
// accounts, their enrolment tokens and the audit trail that names them, so
// a rule kept here (CreateStaff checks ValidUsername) holds for every
// caller.

// Actors that the audit trail names and that are not staff accounts: no
// username may be one of them, so an entry cannot pass for another's.
const (
	ActorCLI      = "cli"      // the command line, on the server's machine
	ActorSystem   = "system"   // the service itself (retention)
	ActorReporter = "reporter" // reserved: reporters are never audited in the timed trail (see reporter_activity.go)
	ActorUnknown  = "unknown"  // a login attempt under an unknown username
)

// UsernameRule says, for people, what ValidUsername accepts.
const UsernameRule = "A username is 2 to 64 letters, digits, dots, dashes or underscores " +
	"(and not " + ActorCLI + ", " + ActorUnknown + ", " + ActorSystem + " or " + ActorReporter + ")."

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$`)

// ValidUsername accepts 2 to 64 letters, digits, dots, dashes and
// underscores, beginning with a letter or digit, except the names the audit
// trail uses for non-people (whatever their case).
func ValidUsername(name string) bool {
	switch strings.ToLower(name) {
	case ActorCLI, ActorUnknown, ActorSystem, ActorReporter:
		return false
	}
	return usernameRE.MatchString(name)
}

// EnrolmentTTL is how long a one-time enrolment link stays valid.
const EnrolmentTTL = 72 * time.Hour

// HashToken is how a bearer token (an enrolment link's, a staff session's)
// is kept: its SHA-256, so that a stolen database holds no usable token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewEnrolmentToken makes a one-time enrolment token for a staff member,
// valid for EnrolmentTTL, and stores its hash (CreateEnrolment); the token
// itself goes into the link, once.
func (db *DB) NewEnrolmentToken(ctx context.Context, staffID int64) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to make an enrolment token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	if err := db.CreateEnrolment(ctx, staffID, HashToken(token), db.Now().Add(EnrolmentTTL)); err != nil {
		return "", err
	}
	return token, nil
}

// EnrolmentLink is the link a new staff member opens once. Its path is the
// server's enrolment route (GET /staff/enrol/:token).
func EnrolmentLink(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + "/staff/enrol/" + token
}
