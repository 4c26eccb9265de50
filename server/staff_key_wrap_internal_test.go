package server

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"filippo.io/age/armor"
)

// The shape of a wrapped identity, by hand; the fixture keywrap.js made
// (cmd/candour/testdata) is a seed too.
const wrappedSeed = "age-encryption.org/v1\n-> age-encryption.org/fido2prf AAAAAAAAAAAAAAAAAAAAAA\n" +
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n0123456789abcdef0123456789abcdef"

// FuzzWrappedIdentityProblem: whatever is uploaded, the check does not
// panic, and what it accepts holds no secret key and has only fido2prf
// stanzas.
func FuzzWrappedIdentityProblem(f *testing.F) {
	f.Add([]byte(wrappedSeed))
	if js, err := os.ReadFile("../cmd/candour/testdata/fido2prf-wrapped.age"); err == nil {
		f.Add(js)
	}
	var armored bytes.Buffer
	w := armor.NewWriter(&armored)
	w.Write([]byte(wrappedSeed))
	w.Close()
	f.Add(armored.Bytes())
	f.Add([]byte("AGE-SECRET-KEY-1QQQQ\n"))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- AAAA\n"))
	f.Add([]byte(strings.Replace(wrappedSeed, "fido2prf AAAAAAAAAAAAAAAAAAAAAA", "fido2prf AAAA", 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if wrappedIdentityProblem(b) != "" {
			return
		}
		if isSecretKey(string(b)) {
			t.Fatal("a file holding a secret key was accepted")
		}
		text := string(b)
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte(armor.Header)) {
			raw, err := io.ReadAll(armor.NewReader(bytes.NewReader(bytes.TrimSpace(b))))
			if err != nil || isSecretKey(string(raw)) {
				t.Fatalf("an armored file accepted that is not well-formed or holds a secret key: %v", err)
			}
			return // its header is base64 inside the armor
		}
		for _, line := range strings.Split(strings.SplitN(text, "\n---", 2)[0], "\n") {
			if strings.HasPrefix(line, "-> ") && !strings.HasPrefix(line, "-> "+fido2prfStanza+" ") {
				t.Fatalf("a stanza other than fido2prf was accepted: %q", line)
			}
		}
	})
}

// What keywrap.js makes (the fixture made by tests/unit/keywrap.test.mjs)
// is accepted, and so is the seed.
func TestWrappedIdentityFromTheConsoleIsAccepted(t *testing.T) {
	js, err := os.ReadFile("../cmd/candour/testdata/fido2prf-wrapped.age")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"keywrap.js": js, "seed": []byte(wrappedSeed)} {
		if p := wrappedIdentityProblem(b); p != "" {
			t.Errorf("%s: refused: %s", name, p)
		}
	}
}

// A plain key hidden in an armored file, where the payload goes, is
// refused: the check reads inside the armor (security review #7).
func TestArmoredPlainKeyIsRefused(t *testing.T) {
	var armored bytes.Buffer
	w := armor.NewWriter(&armored)
	w.Write([]byte(strings.Replace(wrappedSeed, "0123456789abcdef0123456789abcdef", "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", 1)))
	w.Close()
	if p := wrappedIdentityProblem(armored.Bytes()); !strings.Contains(p, "plain key") {
		t.Fatalf("an armored file holding a plain key: %q, want it refused as a plain key", p)
	}
}
