package crypto_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
)

// ageHeader is how every binary age file begins.
const ageHeader = "age-encryption.org/v1\n"

// testKey is an age key pair of either kind, with the text forms of both
// halves.
type testKey struct {
	identity  age.Identity
	recipient string
	secret    string
}

func newTestKey(t testing.TB, kind crypto.Kind) testKey {
	t.Helper()
	switch kind {
	case crypto.KindPostQuantum:
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			t.Fatal(err)
		}
		return testKey{identity: id, recipient: id.Recipient().String(), secret: id.String()}
	case crypto.KindClassic:
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		return testKey{identity: id, recipient: id.Recipient().String(), secret: id.String()}
	}
	t.Fatalf("unknown kind %v", kind)
	return testKey{}
}

// fastKDFParams are the weakest parameters Validate accepts, with a fresh
// salt, so that tests stay fast.
func fastKDFParams(t testing.TB) crypto.KDFParams {
	t.Helper()
	p, err := crypto.NewKDFParams(1, 8*1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustNewCaseCode(t testing.TB) crypto.CaseCode {
	t.Helper()
	c, err := crypto.NewCaseCode()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustParseCaseCode(t testing.TB, s string) crypto.CaseCode {
	t.Helper()
	c, err := crypto.ParseCaseCode(s)
	if err != nil {
		t.Fatalf("ParseCaseCode: %v", err)
	}
	return c
}

func mustDerive(t testing.TB, p crypto.KDFParams, c crypto.CaseCode) crypto.CaseKeys {
	t.Helper()
	k, err := p.Derive(c)
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	return k
}

// canonical is the form of a code that must never be printed or logged.
func canonical(c crypto.CaseCode) string { return strings.ReplaceAll(c.Display(), "-", "") }

// ageEncrypt encrypts plain to recipients with age itself.
func ageEncrypt(t testing.TB, plain []byte, recipients ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		t.Fatalf("age.Encrypt: %v", err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ageDecrypt decrypts an age file with age itself.
func ageDecrypt(ciphertext []byte, identities ...age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ciphertext), identities...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func bothKinds() []crypto.Kind { return []crypto.Kind{crypto.KindPostQuantum, crypto.KindClassic} }

// caseRecipients parses the organisation keys and makes a case identity of
// kind, returning the organisation set, the case identity and the
// recipients every item of that case is encrypted to.
func caseRecipients(t testing.TB, kind crypto.Kind, orgs ...testKey) (*crypto.Recipients, *crypto.CaseIdentity, []age.Recipient) {
	t.Helper()
	var lines []string
	for _, o := range orgs {
		lines = append(lines, o.recipient)
	}
	rs, err := crypto.ParseRecipientsString(strings.Join(lines, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	caseID, err := crypto.NewCaseIdentity(kind)
	if err != nil {
		t.Fatal(err)
	}
	recipients, err := rs.ForCase(caseID.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	return rs, caseID, recipients
}
