package main_test

import (
	"os"
	"path/filepath"
	"testing"
)

func TestServeRefusesBadNotificationSettings(t *testing.T) {
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	mail := []string{"--smtp-host", "127.0.0.1", "--smtp-from", "candour@watchdog.example", "--public-url", "https://report.watchdog.example"}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"a --notify-interval under an hour", nil, []string{"--notify-interval", "30m"}, "is too short"},
		{"a CANDOUR_NOTIFY_INTERVAL under an hour", []string{"CANDOUR_NOTIFY_INTERVAL=5m"}, nil, "is too short"},
		{"a mail server without --public-url", nil, []string{"--smtp-host", "127.0.0.1", "--smtp-from", "candour@watchdog.example"}, "--public-url"},
		{"an unknown --smtp-tls", nil, append(mail, "--smtp-tls", "ssl"), `unknown SMTP TLS mode "ssl"`},
		{"a sender with a display name", nil, append(mail[:2:2], "--smtp-from", "Candour <candour@watchdog.example>", "--public-url", "https://x.example"), "--smtp-from"},
		{"a CANDOUR_SMTP_PORT out of range", []string{"CANDOUR_SMTP_PORT=70000"}, mail, "invalid SMTP port"},
		{"a missing --smtp-password-file", nil, append(mail, "--smtp-user", "candour", "--smtp-password-file", filepath.Join(dir, "nothing")), "--smtp-password-file"},
	} {
		t.Run(tc.name, func(t *testing.T) { serveRefuses(t, dir, recipients, tc.env, tc.args, tc.want) })
	}
}

// The mail settings come from CANDOUR_SMTP_* as well as flags, and the
// password from a file.
func TestServeTakesMailSettingsFromTheEnvironment(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serveWith(t, candourBin, []string{"CANDOUR_SMTP_HOST=127.0.0.1", "CANDOUR_SMTP_PORT=2525", "CANDOUR_SMTP_TLS=none",
		"CANDOUR_SMTP_FROM=candour@watchdog.example", "CANDOUR_SMTP_USER=candour", "CANDOUR_SMTP_PASSWORD_FILE=" + pw,
		"CANDOUR_NOTIFY_INTERVAL=2h", "CANDOUR_PUBLIC_URL=https://report.watchdog.example"})
}
