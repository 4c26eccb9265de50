package crypto_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/candour/candour/crypto"
)

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

// cheapPasswordHash builds a PHC encoding independently of the package, with
// parameters small enough for tests and fuzzing.
func cheapPasswordHash(password, salt string, m, t uint32, p uint8) string {
	key := argon2.IDKey([]byte(password), []byte(salt), t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString([]byte(salt)), base64.RawStdEncoding.EncodeToString(key))
}

func mustHashPassword(t testing.TB, password string) string {
	t.Helper()
	h, err := crypto.HashPassword(password)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	return h
}

// The default parameters cost about a tenth of a second each, so this test
// makes only two hashes and checks everything against them.
func TestHashPassword(t *testing.T) {
	t.Parallel()
	const password = "a staff member's good passphrase"
	h1 := mustHashPassword(t, password)
	h2 := mustHashPassword(t, password)

	t.Run("a hash is in PHC format with the default parameters, a 16-byte salt and a 32-byte key", func(t *testing.T) {
		if !phcPattern.MatchString(h1) {
			t.Fatalf("hash does not match %v", phcPattern)
		}
	})

	t.Run("a hash verifies against its password", func(t *testing.T) {
		ok, err := crypto.VerifyPassword(h1, password)
		if err != nil || !ok {
			t.Fatalf("VerifyPassword = %v, %v; want true, nil", ok, err)
		}
	})

	t.Run("a hash does not verify against another password", func(t *testing.T) {
		ok, err := crypto.VerifyPassword(h2, password+".")
		if err != nil || ok {
			t.Fatalf("VerifyPassword = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("two hashes of the same password differ by their salt", func(t *testing.T) {
		if h1 == h2 {
			t.Fatal("two hashes of the same password are equal")
		}
	})
}

func TestVerifyPasswordReadsParametersFromTheEncoding(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		password string
		encoded  string
		want     bool
	}{
		{"a hash with cheaper parameters verifies its password", "correct", cheapPasswordHash("correct", "0123456789abcdef", 64, 1, 1), true},
		{"a hash with cheaper parameters refuses another password", "incorrect", cheapPasswordHash("correct", "0123456789abcdef", 64, 1, 1), false},
		{"a hash with a longer salt and more lanes verifies its password", "correct", cheapPasswordHash("correct", strings.Repeat("salt", 8), 256, 2, 4), true},
		{"an empty password verifies against its hash", "", cheapPasswordHash("", "0123456789abcdef", 64, 1, 1), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, err := crypto.VerifyPassword(c.encoded, c.password)
			if err != nil || ok != c.want {
				t.Fatalf("VerifyPassword = %v, %v; want %v, nil", ok, err, c.want)
			}
		})
	}
}

func TestVerifyPasswordRefusesMalformedEncodings(t *testing.T) {
	t.Parallel()
	const password = "Tr0ub4dor&3-but-secret"
	valid := cheapPasswordHash(password, "0123456789abcdef", 64, 1, 1)
	parts := strings.Split(valid, "$") // "", argon2id, v=19, params, salt, key
	salt, key := parts[4], parts[5]
	with := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }

	cases := []struct{ name, encoded string }{
		{"an empty string", ""},
		{"garbage", "not a hash at all"},
		{"the password itself", password},
		{"a bcrypt hash", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"argon2i instead of argon2id", strings.Replace(valid, "argon2id", "argon2i", 1)},
		{"argon2d instead of argon2id", strings.Replace(valid, "argon2id", "argon2d", 1)},
		{"version 16", strings.Replace(valid, "v=19", "v=16", 1)},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"memory of 4 GiB", with("m=4194304,t=1,p=1")},
		{"memory just over 1 GiB", with("m=1048577,t=1,p=1")},
		{"memory beyond 32 bits", with("m=99999999999999999999,t=1,p=1")},
		{"memory below 8 KiB a lane", with("m=15,t=1,p=2")},
		{"negative memory", with("m=-64,t=1,p=1")},
		{"memory with a plus sign", with("m=+64,t=1,p=1")},
		{"memory with a leading zero", with("m=064,t=1,p=1")},
		{"65 passes", with("m=64,t=65,p=1")},
		{"zero passes", with("m=64,t=0,p=1")},
		{"65 lanes", with("m=1024,t=1,p=65")},
		{"256 lanes", with("m=4096,t=1,p=256")},
		{"zero lanes", with("m=64,t=1,p=0")},
		{"parameters in another order", with("t=1,m=64,p=1")},
		{"a missing parameter", with("m=64,t=1")},
		{"an extra parameter", with("m=64,t=1,p=1,k=2")},
		{"spaces in the parameters", with("m=64, t=1, p=1")},
		{"a salt that is not base64", strings.Replace(valid, salt, "!!!!!!!!!!!!!!!!!!!!!!", 1)},
		{"a padded salt", strings.Replace(valid, salt, salt+"==", 1)},
		{"a salt of 8 bytes", strings.Replace(valid, salt, base64.RawStdEncoding.EncodeToString([]byte("12345678")), 1)},
		{"an empty salt", strings.Replace(valid, "$"+salt+"$", "$$", 1)},
		{"a key of 16 bytes", strings.Replace(valid, key, key[:22], 1)},
		{"a key of 64 bytes", strings.Replace(valid, key, base64.RawStdEncoding.EncodeToString(make([]byte, 64)), 1)},
		{"an extra field", valid + "$extra"},
		{"a very long encoding", valid + strings.Repeat("A", 1<<16)},
	}
	// Every truncation of a valid encoding is malformed.
	for i := range len(valid) {
		cases = append(cases, struct{ name, encoded string }{fmt.Sprintf("the first %d bytes of a valid encoding", i), valid[:i]})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := crypto.VerifyPassword(c.encoded, password)
			if err == nil || ok {
				t.Fatalf("VerifyPassword = %v, %v; want false and an error", ok, err)
			}
			if !errors.Is(err, crypto.ErrMalformedPasswordHash) {
				t.Errorf("error %q does not wrap ErrMalformedPasswordHash", err)
			}
			msg := err.Error()
			for _, secret := range []string{password, salt, key[:8]} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q quotes the password or the encoding", msg)
				}
			}
			if len(c.encoded) > 8 && strings.Contains(msg, c.encoded) {
				t.Errorf("error %q quotes the encoding", msg)
			}
		})
	}
}

func TestDummyPasswordHash(t *testing.T) {
	t.Parallel()
	d := crypto.DummyPasswordHash()

	t.Run("the dummy hash uses the same parameters as a real one", func(t *testing.T) {
		if !phcPattern.MatchString(d) {
			t.Fatalf("dummy hash does not match %v", phcPattern)
		}
	})

	t.Run("the dummy hash is the same on every call", func(t *testing.T) {
		if again := crypto.DummyPasswordHash(); again != d {
			t.Fatal("DummyPasswordHash changed within the process")
		}
	})

	t.Run("no guessable password matches the dummy hash", func(t *testing.T) {
		for _, p := range []string{"", "password"} {
			ok, err := crypto.VerifyPassword(d, p)
			if err != nil || ok {
				t.Fatalf("VerifyPassword(dummy, %q) = %v, %v; want false, nil", p, ok, err)
			}
		}
	})
}

func TestCheckPasswordPolicy(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, password, username string
		ok                       bool
	}{
		{"a four-word passphrase is accepted", "correct horse battery staple", "alice", true},
		{"a long unicode passphrase is accepted", "Ünïcödé пароль 密码 λέξη ok", "alice", true},
		{"twelve unrelated letters are accepted", "kx9vbq2mzrtw", "alice", true},
		{"exactly twelve characters counted in runes are accepted", "çéàüöäßñøåæœ", "", true},
		{"exactly 256 bytes are accepted", strings.Repeat("correct horse battery staple ", 9)[:256], "", true},
		{"a short username is not looked for", "carefully considered phrase", "ca", true},
		{"eleven characters are refused", "kx9vbq2mzrt", "", false},
		{"eleven two-byte characters are refused", "çéàüöäßñøåæ", "", false},
		{"an empty password is refused", "", "", false},
		{"257 bytes are refused", strings.Repeat("x7", 128) + "q", "", false},
		{"the username inside is refused", "my name is alice smith!", "alice", false},
		{"the username in another case is refused", "my name is ALICE smith!", "Alice", false},
		{"one repeated character is refused", "aaaaaaaaaaaaaaaa", "", false},
		{"one repeated symbol is refused", "!!!!!!!!!!!!", "", false},
		{"a repeated short pattern is refused", "abcabcabcabc", "", false},
		{"the alphabet in order is refused", "abcdefghijkl", "", false},
		{"the alphabet wrapping round is refused", "uvwxyzabcdef", "", false},
		{"the alphabet backwards is refused", "zyxwvutsrqpo", "", false},
		{"digits in order wrapping round are refused", "123456789012", "", false},
		{"digits backwards are refused", "987654321098", "", false},
		{"a keyboard row is refused", "qwertyuiopas", "", false},
		{"a keyboard column walk is refused", "1qaz2wsx3edc", "", false},
		{"password with a year and a symbol is refused", "Password2024!", "", false},
		{"password with symbols swapped in is refused", "P@ssw0rd2024!", "", false},
		{"password with digits in front is refused", "2024password!", "", false},
		{"iloveyou with digits is refused", "iloveyou1234", "", false},
		{"letmein with digits is refused", "letmein12345", "", false},
		{"welcome with spaces and digits is refused", "Welcome 123456", "", false},
		{"police with digits is refused", "police123456", "", false},
		{"admin with digits is refused", "Admin1234567", "", false},
		{"a listed long password is refused", "passwordpassword", "", false},
		{"qwerty with digits is refused", "qwerty123456", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := crypto.CheckPasswordPolicy(c.password, c.username)
			if c.ok {
				if err != nil {
					t.Fatalf("CheckPasswordPolicy refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckPasswordPolicy accepted it")
			}
			if !errors.Is(err, crypto.ErrWeakPassword) {
				t.Errorf("error %q does not wrap ErrWeakPassword", err)
			}
			msg := err.Error()
			if len(msg) <= len(crypto.ErrWeakPassword.Error())+len(": ")+10 {
				t.Errorf("error %q gives no advice", msg)
			}
			if c.password != "" && strings.Contains(strings.ToLower(msg), strings.ToLower(c.password)) {
				t.Errorf("error %q quotes the password", msg)
			}
		})
	}
}

func FuzzVerifyPassword(f *testing.F) {
	valid := cheapPasswordHash("correct", "0123456789abcdef", 64, 1, 1)
	for _, s := range []string{
		valid,
		strings.Replace(valid, "argon2id", "argon2i", 1),
		strings.Replace(valid, "m=64", "m=4194304", 1),
		strings.Replace(valid, "t=1", "t=0", 1),
		strings.Replace(valid, "p=1", "p=0", 1),
		valid[:len(valid)-1],
		valid + "$",
		"$argon2id$v=19$m=,t=,p=$$",
		"$$$$$",
		"",
		"\xff\xfe",
	} {
		f.Add(s, "correct")
	}
	costly := regexp.MustCompile(`[mt]=(\d+)`)
	f.Fuzz(func(t *testing.T, encoded, password string) {
		// Keep each run cheap: skip inputs that would ask for more than a
		// little memory or time (the bounds themselves are tested above).
		for _, m := range costly.FindAllStringSubmatch(encoded, -1) {
			if len(m[1]) > 4 || (m[0][0] == 'm' && m[1] > "1024" && len(m[1]) == 4) || (m[0][0] == 't' && len(m[1]) > 1) {
				t.Skip("too costly to fuzz")
			}
		}
		ok, err := crypto.VerifyPassword(encoded, password)
		if err != nil {
			if ok {
				t.Fatal("true returned with an error")
			}
			if !errors.Is(err, crypto.ErrMalformedPasswordHash) {
				t.Fatalf("error %q does not wrap ErrMalformedPasswordHash", err)
			}
			if len(encoded) > 8 && strings.Contains(err.Error(), encoded) {
				t.Fatal("error quotes the encoding")
			}
		}
	})
}
