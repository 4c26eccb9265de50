package crypto_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/candour/candour/crypto"
)

// A case identity sealed under a key derived from a session token opens
// only with that key and the same bound data, and the sealed bytes do not
// hold the identity's secret text.
func TestSealedCaseIdentityOpensOnlyWithItsKey(t *testing.T) {
	for _, kind := range []crypto.Kind{crypto.KindClassic, crypto.KindPostQuantum} {
		id, err := crypto.NewCaseIdentity(kind)
		if err != nil {
			t.Fatal(err)
		}
		token := bytes.Repeat([]byte{7}, 32)
		key, err := crypto.DeriveKey(token, "candour session key")
		if err != nil {
			t.Fatal(err)
		}
		other, _ := crypto.DeriveKey(token, "candour session csrf")
		if bytes.Equal(key, other) || len(key) != 32 {
			t.Fatal("two labels gave the same key")
		}
		sealed, err := crypto.SealCaseIdentity(key, id, []byte("row 1"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToUpper(sealed), []byte("AGE-SECRET-KEY")) {
			t.Error("the sealed identity holds its secret in clear")
		}
		got, err := crypto.OpenCaseIdentity(key, sealed, []byte("row 1"))
		if err != nil || got.Recipient() != id.Recipient() {
			t.Fatalf("opened %v, %v", got, err)
		}
		tampered := bytes.Clone(sealed)
		tampered[len(tampered)-1] ^= 1
		for name, try := range map[string]func() error{
			"another key":  func() error { _, err := crypto.OpenCaseIdentity(other, sealed, []byte("row 1")); return err },
			"another row":  func() error { _, err := crypto.OpenCaseIdentity(key, sealed, []byte("row 2")); return err },
			"altered":      func() error { _, err := crypto.OpenCaseIdentity(key, tampered, []byte("row 1")); return err },
			"truncated":    func() error { _, err := crypto.OpenCaseIdentity(key, sealed[:20], []byte("row 1")); return err },
			"not a secret": func() error { _, err := crypto.OpenKeyed(key, sealed[:0], nil); return err },
		} {
			err := try()
			if !errors.Is(err, crypto.ErrSealedOpen) {
				t.Errorf("%s: %v, want ErrSealedOpen", name, err)
			}
			if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY") {
				t.Errorf("%s: the error quotes key material", name)
			}
		}
	}
}
