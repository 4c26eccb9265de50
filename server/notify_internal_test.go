package server

import (
	"net/mail"
	"strings"
	"testing"
	"time"
)

// An address parseMailbox accepts goes into a header and an SMTP command
// as it is: it must be one bare address that can add no header, recipient
// or command.
func FuzzParseMailbox(f *testing.F) {
	for _, s := range []string{"alice@staff.example", "a.b+c@d.example", "Alice <alice@staff.example>",
		"alice@staff.example\r\nBcc: eve@evil.example", "alice@staff.example, eve@evil.example", "\"a b\"@c.example",
		"alice@[127.0.0.1]", "@", "ålice@staff.example", "alice@staff.example\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseMailbox(s)
		if err != nil {
			return
		}
		if got != s || len(s) > maxMailbox || strings.ContainsAny(s, " \t\r\n,;<>\"") || strings.Count(s, "@") != 1 {
			t.Fatalf("accepted %q", s)
		}
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s || a.Name != "" {
			t.Fatalf("accepted %q, which net/mail reads as %v, %v", s, a, err)
		}
	})
}

func TestHumanInterval(t *testing.T) {
	for d, want := range map[string]string{"1h": "hour", "24h": "day", "2h": "2 hours", "90m": "90 minutes", "1h30m10s": "1h30m10s"} {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := humanInterval(dur); got != want {
			t.Errorf("humanInterval(%s) = %q, want %q", d, got, want)
		}
	}
}
