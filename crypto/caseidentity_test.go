package crypto_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/argon2"

	"github.com/candour/candour/crypto"
)

// independentWrapPassphrase recomputes, from the documented construction,
// the age passphrase under which a case identity is wrapped.
func independentWrapPassphrase(t *testing.T, p crypto.KDFParams, code crypto.CaseCode) string {
	t.Helper()
	master := argon2.IDKey([]byte(canonical(code)), p.Salt, p.Time, p.MemoryKiB, p.Threads, 32)
	wrap, err := hkdf.Expand(sha256.New, master, "candour case identity wrap v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawStdEncoding.EncodeToString(wrap)
}

// scryptFile is an age passphrase file of plain at work factor logN.
func scryptFile(t *testing.T, passphrase string, logN int, plain string) []byte {
	t.Helper()
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(logN)
	return ageEncrypt(t, []byte(plain), r)
}

func TestNewCaseIdentity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind   crypto.Kind
		prefix string
	}{
		{crypto.KindPostQuantum, "age1pq1"},
		{crypto.KindClassic, "age1"},
	} {
		t.Run("a "+tc.kind.String()+" case identity has a recipient of its kind", func(t *testing.T) {
			id, err := crypto.NewCaseIdentity(tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(id.Recipient(), tc.prefix) {
				t.Errorf("Recipient() = %q, want prefix %q", id.Recipient(), tc.prefix)
			}
			rs, err := crypto.ParseRecipientsString(id.Recipient())
			if err != nil {
				t.Fatal(err)
			}
			if rs.Kind() != tc.kind {
				t.Errorf("recipient parses as %v, want %v", rs.Kind(), tc.kind)
			}
			other, err := crypto.NewCaseIdentity(tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			if other.Recipient() == id.Recipient() {
				t.Error("two case identities have the same recipient")
			}
		})
	}
	t.Run("an unknown kind is refused", func(t *testing.T) {
		for _, k := range []crypto.Kind{0, 3, -1} {
			if _, err := crypto.NewCaseIdentity(k); err == nil {
				t.Errorf("NewCaseIdentity(%d) succeeded", int(k))
			}
		}
	})
}

func TestWrapCaseIdentity(t *testing.T) {
	t.Parallel()
	p := fastKDFParams(t)
	code := mustNewCaseCode(t)
	keys := mustDerive(t, p, code)
	otherCodeKeys := mustDerive(t, p, mustNewCaseCode(t))
	otherSaltKeys := mustDerive(t, fastKDFParams(t), code)

	for _, kind := range bothKinds() {
		id, err := crypto.NewCaseIdentity(kind)
		if err != nil {
			t.Fatal(err)
		}
		wrapped, err := crypto.WrapCaseIdentity(keys, id)
		if err != nil {
			t.Fatalf("WrapCaseIdentity: %v", err)
		}
		secret := id.Identity().(interface{ String() string }).String()

		t.Run("a wrapped "+kind.String()+" identity is a standard age file", func(t *testing.T) {
			if !bytes.HasPrefix(wrapped, []byte(ageHeader)) {
				t.Errorf("wrapped identity starts %q, want %q", wrapped[:min(len(wrapped), 30)], ageHeader)
			}
			if !bytes.Contains(wrapped, []byte("\n-> scrypt ")) {
				t.Errorf("wrapped identity has no scrypt stanza:\n%s", wrapped)
			}
		})

		t.Run("a wrapped "+kind.String()+" identity does not contain its secret or recipient", func(t *testing.T) {
			if bytes.Contains(wrapped, []byte(secret)) || bytes.Contains(bytes.ToUpper(wrapped), []byte(secret[len(secret)-20:])) {
				t.Error("wrapped identity contains the secret key in clear")
			}
			if bytes.Contains(wrapped, []byte(id.Recipient())) {
				t.Error("wrapped identity contains the recipient")
			}
		})

		t.Run("wrapping a "+kind.String()+" identity twice gives different files", func(t *testing.T) {
			again, err := crypto.WrapCaseIdentity(keys, id)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again, wrapped) {
				t.Error("two wraps are identical; the age file key is not random")
			}
		})

		t.Run("a wrapped "+kind.String()+" identity unwraps with the same keys", func(t *testing.T) {
			got, err := crypto.UnwrapCaseIdentity(keys, wrapped)
			if err != nil {
				t.Fatalf("UnwrapCaseIdentity: %v", err)
			}
			if got.Recipient() != id.Recipient() {
				t.Errorf("Recipient() = %q, want %q", got.Recipient(), id.Recipient())
			}
			ct := ageEncrypt(t, []byte("reply from the officer"), mustRecipient(t, id.Recipient()))
			if plain, err := ageDecrypt(ct, got.Identity()); err != nil || string(plain) != "reply from the officer" {
				t.Errorf("unwrapped identity cannot read a file to the case: %q, %v", plain, err)
			}
		})

		t.Run("a wrapped "+kind.String()+" identity unwraps with keys derived again from the typed code", func(t *testing.T) {
			typed := mustParseCaseCode(t, strings.ToLower(code.Display()))
			got, err := crypto.UnwrapCaseIdentity(mustDerive(t, p, typed), wrapped)
			if err != nil {
				t.Fatalf("UnwrapCaseIdentity: %v", err)
			}
			if got.Recipient() != id.Recipient() {
				t.Errorf("Recipient() = %q, want %q", got.Recipient(), id.Recipient())
			}
		})

		t.Run("a wrapped "+kind.String()+" identity opens with age and the documented passphrase", func(t *testing.T) {
			sid, err := age.NewScryptIdentity(independentWrapPassphrase(t, p, code))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := ageDecrypt(wrapped, sid)
			if err != nil {
				t.Fatalf("age cannot open the wrapped identity: %v", err)
			}
			if strings.TrimSpace(string(plain)) != secret {
				t.Error("wrapped plaintext is not the identity's secret key")
			}
		})

		for _, wrong := range []struct {
			name string
			keys crypto.CaseKeys
		}{
			{"keys derived from another code", otherCodeKeys},
			{"keys derived from the same code with another salt", otherSaltKeys},
		} {
			t.Run("a wrapped "+kind.String()+" identity does not unwrap with "+wrong.name, func(t *testing.T) {
				got, err := crypto.UnwrapCaseIdentity(wrong.keys, wrapped)
				if !errors.Is(err, crypto.ErrWrongCaseKey) {
					t.Errorf("error = %v, want ErrWrongCaseKey", err)
				}
				if got != nil {
					t.Error("returned an identity with the error")
				}
			})
		}

		for _, tamper := range []struct {
			name string
			fn   func([]byte) []byte
		}{
			{"a flipped bit in the header", func(b []byte) []byte { b[len(ageHeader)+5] ^= 1; return b }},
			{"a flipped bit in the header MAC", func(b []byte) []byte {
				i := bytes.Index(b, []byte("\n--- ")) + 8
				b[i] ^= 1
				return b
			}},
			{"a flipped bit in the payload", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
			{"a truncated payload", func(b []byte) []byte { return b[:len(b)-10] }},
			{"a missing payload", func(b []byte) []byte { return b[:bytes.Index(b, []byte("\n--- "))+1] }},
			{"an empty input", func(b []byte) []byte { return nil }},
			{"trailing garbage", func(b []byte) []byte { return append(b, "garbage"...) }},
		} {
			t.Run("a wrapped "+kind.String()+" identity with "+tamper.name+" does not unwrap", func(t *testing.T) {
				bad := tamper.fn(bytes.Clone(wrapped))
				if got, err := crypto.UnwrapCaseIdentity(keys, bad); err == nil {
					t.Errorf("unwrapped tampered bytes to %s", got.Recipient())
				}
			})
		}
	}

	t.Run("keys that were never derived are refused for wrapping and unwrapping", func(t *testing.T) {
		id, err := crypto.NewCaseIdentity(crypto.KindPostQuantum)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := crypto.WrapCaseIdentity(crypto.CaseKeys{}, id); err == nil {
			t.Error("WrapCaseIdentity accepted zero CaseKeys")
		}
		if _, err := crypto.WrapCaseIdentity(crypto.CaseKeys{LookupID: keys.LookupID}, id); err == nil {
			t.Error("WrapCaseIdentity accepted CaseKeys with only a LookupID")
		}
		wrapped, err := crypto.WrapCaseIdentity(keys, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := crypto.UnwrapCaseIdentity(crypto.CaseKeys{}, wrapped); err == nil {
			t.Error("UnwrapCaseIdentity accepted zero CaseKeys")
		}
	})
}

// These files are made with age and the documented passphrase, as an
// attacker with write access to the database could make them.
func TestUnwrapCaseIdentityRefusesCraftedFiles(t *testing.T) {
	t.Parallel()
	p := fastKDFParams(t)
	code := mustNewCaseCode(t)
	keys := mustDerive(t, p, code)
	pass := independentWrapPassphrase(t, p, code)
	pq1, pq2 := newTestKey(t, crypto.KindPostQuantum), newTestKey(t, crypto.KindPostQuantum)

	t.Run("a crafted file with the documented passphrase unwraps", func(t *testing.T) {
		got, err := crypto.UnwrapCaseIdentity(keys, scryptFile(t, pass, 10, pq1.secret+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Recipient() != pq1.recipient {
			t.Errorf("Recipient() = %q, want %q", got.Recipient(), pq1.recipient)
		}
	})

	for _, tc := range []struct {
		name      string
		file      []byte
		wantWrong bool
	}{
		{"a scrypt work factor above 10 is refused before running scrypt", scryptFile(t, pass, 11, pq1.secret+"\n"), true},
		{"a file to a public key instead of the passphrase is refused", ageEncrypt(t, []byte(pq1.secret+"\n"), pq2.identity.(*age.HybridIdentity).Recipient()), true},
		{"two identities in one file are refused", scryptFile(t, pass, 10, pq1.secret+"\n"+pq2.secret+"\n"), false},
		{"a file holding no identity is refused", scryptFile(t, pass, 10, "# nothing here\n"), false},
		{"a file holding garbage is refused", scryptFile(t, pass, 10, "hello\n"), false},
		{"a file holding a recipient instead of an identity is refused", scryptFile(t, pass, 10, pq1.recipient+"\n"), false},
		{"an identity beyond the first 16 KiB is not read", scryptFile(t, pass, 10, strings.Repeat("#\n", 8<<10)+pq1.secret+"\n"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := crypto.UnwrapCaseIdentity(keys, tc.file)
			if err == nil {
				t.Fatalf("unwrapped to %s", got.Recipient())
			}
			if errors.Is(err, crypto.ErrWrongCaseKey) != tc.wantWrong {
				t.Errorf("errors.Is(err, ErrWrongCaseKey) = %v, want %v (err: %v)", !tc.wantWrong, tc.wantWrong, err)
			}
			if strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), pq1.secret) {
				t.Errorf("error quotes key material: %v", err)
			}
		})
	}
}

func mustRecipient(t *testing.T, s string) age.Recipient {
	t.Helper()
	rs, err := crypto.ParseRecipientsString(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs.Organisation()[0]
}
