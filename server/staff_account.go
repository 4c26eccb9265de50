package server

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$`)

// ValidUsername accepts 2 to 64 letters, digits, dots, dashes and
// underscores, except the names the audit trail uses for non-people.
func ValidUsername(name string) bool {
	switch strings.ToLower(name) {
	case "cli", "unknown", "system", "reporter":
		return false
	}
	return usernameRE.MatchString(name)
}

// EnrolmentLink is the link a new staff member opens once.
func EnrolmentLink(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + "/staff/enrol/" + token
}

// EnrolmentTTL is how long a one-time enrolment link stays valid.
const EnrolmentTTL = 72 * time.Hour

// NewEnrolmentToken makes a one-time enrolment token for a staff member and
// stores its hash; the token goes into the link, once.
func NewEnrolmentToken(ctx context.Context, db *storage.DB, staffID int64) (string, error) {
	token := randomToken()
	if err := db.CreateEnrolment(ctx, staffID, tokenHash(token), db.Now().Add(EnrolmentTTL)); err != nil {
		return "", err
	}
	return token, nil
}

func (s *Server) baseURL(c *fiber.Ctx) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return c.Protocol() + "://" + c.Hostname()
}
