package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// Content-free notifications (SECURITY.md, "Notifications"). A staff
// member who opts in (/staff/notifications) is mailed when there is
// something for them in the console, and the mail says nothing else: a
// fixed subject, a fixed text with the console's address, no case
// reference, channel, count or text.
//
// When a mail is sent must not say when a reporter acted either. So a
// reporter's event only sets a flag, one bit per staff member, in the
// transaction that stores the report or message (storage/notification.go),
// and the notifier reads the flags at fixed boundaries of NotifyInterval
// on the clock (on the hour by default), whatever happened in between:
// a mail says "something happened for you in the last interval or
// before", no more. A mail that fails keeps its flag, for the next
// boundary; a failing mail server never touches a report or a staff action,
// which only set flags.
//
// Deadlines join in by setting the same flag: before the boundary's round
// reads the flags, storage.DB.MarkDeadlinesDue flags (once a day) whoever
// is assigned an open case with a deadline due in the next days or past.

// NotifySubject is the subject of every notification.
const NotifySubject = "Candour: there is activity for you"

// SMTP TLS modes (SMTPConfig.TLS).
const (
	SMTPTLSNone     = "none"     // plain SMTP: only to a mail server on this machine
	SMTPStartTLS    = "starttls" // STARTTLS, required: never falls back to plain
	SMTPImplicitTLS = "implicit" // TLS from the first byte (port 465)
)

// SMTPConfig is the mail server notifications are sent through. An empty
// Host turns notifications off.
type SMTPConfig struct {
	Host string
	Port int
	// TLS is SMTPTLSNone, SMTPStartTLS (the default) or SMTPImplicitTLS.
	TLS string
	// Username and Password, if Username is set, log in with AUTH PLAIN,
	// which net/smtp sends only over TLS (or to localhost).
	Username string
	Password string
	// From is the sender's address, bare (no display name).
	From string
	// Timeout bounds one mail: connecting, the SMTP dialogue, sending.
	Timeout time.Duration
}

// String describes c with its password redacted.
func (c SMTPConfig) String() string {
	pw := ""
	if c.Password != "" {
		pw = " password=REDACTED"
	}
	return fmt.Sprintf("smtp host=%s port=%d tls=%s user=%q%s from=%s", c.Host, c.Port, c.TLS, c.Username, pw, c.From)
}

// Enabled reports whether a mail server is configured.
func (c SMTPConfig) Enabled() bool { return c.Host != "" }

func (c *SMTPConfig) setDefaults() {
	if c.TLS == "" {
		c.TLS = SMTPStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case SMTPImplicitTLS:
			c.Port = 465
		default:
			c.Port = 587
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Minute
	}
}

// validate checks c and the console's address the mails point to.
func (c SMTPConfig) validate(publicURL string) error {
	switch c.TLS {
	case SMTPTLSNone, SMTPStartTLS, SMTPImplicitTLS:
	default:
		return fmt.Errorf("unknown SMTP TLS mode %q: none, starttls or implicit", c.TLS)
	}
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("invalid SMTP port %d", c.Port)
	}
	if strings.ContainsAny(c.Host, " \r\n/") {
		return fmt.Errorf("invalid SMTP host %q", c.Host)
	}
	if _, err := parseMailbox(c.From); err != nil {
		return fmt.Errorf("invalid SMTP sender (--smtp-from) %q: %v", c.From, err)
	}
	if c.Username == "" && c.Password != "" {
		return errors.New("an SMTP password without a user name")
	}
	u, err := url.Parse(publicURL)
	if publicURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("notifications link to the console, so they need the public URL (--public-url) as http(s)://host")
	}
	return nil
}

// parseMailbox accepts a bare address (local@domain) of printable ASCII,
// at most storage.MaxNotifyEmail bytes, with no display name, comment or
// angle brackets: what goes into a header and an SMTP command as it is.
func parseMailbox(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty")
	}
	if len(s) > maxMailbox {
		return "", fmt.Errorf("longer than %d characters", maxMailbox)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return "", errors.New("only letters, digits and punctuation of ASCII, no spaces")
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", errors.New("not an address of the form name@example.org")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, "<>()\",;:\\[]") {
		return "", errors.New("not an address of the form name@example.org")
	}
	return s, nil
}

// maxMailbox is storage.MaxNotifyEmail: the longest address SMTP allows.
const maxMailbox = 254

// notifyLoop runs a round of notifications at every multiple of interval
// on the clock (on the hour for an hour) until ctx ends (Shutdown). Of
// several instances on one database, the one that takes the lock first
// runs the round, and the others skip it (exclusive); should two rounds
// overlap all the same, each flag is claimed by one (SendNotifications).
func (s *Server) notifyLoop(ctx context.Context, interval time.Duration) {
	round := s.exclusive("notifications", func(ctx context.Context) {
		if err := s.SendNotifications(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("some notifications were not sent; they will be tried again at the next boundary", "err", err)
		}
	})
	everyBoundary(ctx, interval, func() { round(ctx) })
}

// SendNotifications runs one round: it mails the fixed notification to
// every opted-in staff member whose flag is set, and clears their flags.
// A mail that fails sets its flag again for the next round; the error
// returned joins the failures. The background loop calls it at every
// boundary of Config.NotifyInterval; tests call it to stand for one. It
// does nothing when no mail server is configured.
func (s *Server) SendNotifications(ctx context.Context) error {
	if !s.cfg.SMTP.Enabled() {
		return nil
	}
	// Deadlines: whoever is assigned an open case with a deadline due in
	// the next days (or past) is flagged, once a day, before the flags
	// are read.
	if _, err := s.db.MarkDeadlinesDue(ctx); err != nil {
		return err
	}
	// The flags are claimed (cleared) all at once before any mail goes
	// out: a round of another instance at the same boundary claims none of
	// them again, so each mail is sent once (storage.ClaimNotifications).
	due, err := s.db.ClaimNotifications(ctx)
	if err != nil {
		return err
	}
	date := time.Now().UTC().Truncate(s.cfg.NotifyInterval)
	var errs []error
	sent := 0
	for _, p := range due {
		to, err := parseMailbox(p.Email)
		if err != nil {
			// Only the console stores addresses, and it checks them. The
			// flag stays set, as it was before the claim.
			s.log.Error("a staff member's notification address is not valid; no mail is sent", "staff_id", p.StaffID)
			err = s.db.MarkNotifyPending(context.WithoutCancel(ctx), p.StaffID)
		} else if err = ctx.Err(); err == nil {
			var msg []byte
			msg, err = s.notificationMail(to, date)
			if err == nil {
				err = s.sendMail(ctx, to, msg)
			}
			if err == nil {
				sent++
				continue
			}
		}
		if err != nil {
			// Keep it for the next boundary, even if ctx has ended (a
			// round cut short by Shutdown keeps every flag it has not
			// mailed yet).
			if rerr := s.db.MarkNotifyPending(context.WithoutCancel(ctx), p.StaffID); rerr != nil {
				err = errors.Join(err, rerr)
			}
			errs = append(errs, fmt.Errorf("staff %d: %w", p.StaffID, err))
		}
	}
	if sent > 0 || len(errs) > 0 {
		s.log.Info("notification round", "sent", sent, "failed", len(errs))
	}
	return errors.Join(errs...)
}

// notificationMail is the whole message: the same for everyone but its To
// and Message-ID (random), dated at the boundary (date), not the moment
// of sending.
func (s *Server) notificationMail(to string, date time.Time) ([]byte, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	from := s.cfg.SMTP.From
	domain := from[strings.LastIndexByte(from, '@')+1:]
	console := strings.TrimRight(s.cfg.PublicURL, "/") + "/staff/"
	var b strings.Builder
	for _, h := range [][2]string{
		{"From", from},
		{"To", to},
		{"Subject", NotifySubject},
		{"Date", date.Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"Auto-Submitted", "auto-generated"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=us-ascii"},
		{"Content-Transfer-Encoding", "7bit"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	for _, line := range notificationBody(console) {
		b.WriteString(line + "\r\n")
	}
	return []byte(b.String()), nil
}

// notificationBody is the text of every notification. It says what there
// may be, never what there is.
func notificationBody(console string) []string {
	return []string{
		"There is activity for you in the Candour console: a new report,",
		"a reporter's message, or a deadline coming up.",
		"",
		"Log in to see it:",
		console,
		"",
		"This mail says nothing more, on purpose: no case, channel, number or",
		"text, and it is sent at fixed times, not when something happened.",
		"You can stop these mails on the Notifications page of the console.",
	}
}
