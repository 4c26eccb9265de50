package server

import "testing"

func TestPasskeyAddressRules(t *testing.T) {
	for _, tc := range []struct {
		url, rpID, origin string
	}{
		{"https://report.example.org", "report.example.org", "https://report.example.org"},
		{"https://Report.Example.org:8443/", "report.example.org", "https://report.example.org:8443"},
		{"https://report.example.org:443/staff", "report.example.org", "https://report.example.org"},
		{"http://localhost:8080", "localhost", "http://localhost:8080"},
		{"http://candour.localhost", "candour.localhost", "http://candour.localhost"},
		{"http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"},
		{"http://report.example.org", "", ""},
		{"http://127.0.0.1:8080", "", ""},
		{"https://[::1]/", "", ""},
		{"", "", ""},
	} {
		rpID, origin, why := passkeyAddress(tc.url)
		if rpID != tc.rpID || origin != tc.origin || (tc.rpID == "") != (why != "") {
			t.Errorf("%q: RP ID %q, origin %q (%q), want %q, %q", tc.url, rpID, origin, why, tc.rpID, tc.origin)
		}
	}
}
