package server

import "testing"

func TestPasskeyAddressRules(t *testing.T) {
	for _, tc := range []struct {
		url, rpID string
	}{
		{"https://report.example.org", "report.example.org"},
		{"https://Report.Example.org:8443/", "report.example.org"},
		{"http://localhost:8080", "localhost"},
		{"http://candour.localhost", "candour.localhost"},
		{"http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"},
		{"http://report.example.org", ""},
		{"http://127.0.0.1:8080", ""},
		{"https://[::1]/", ""},
		{"", ""},
	} {
		rpID, _, why := passkeyAddress(tc.url)
		if rpID != tc.rpID || (tc.rpID == "") != (why != "") {
			t.Errorf("%q: RP ID %q (%q), want %q", tc.url, rpID, why, tc.rpID)
		}
	}
}
