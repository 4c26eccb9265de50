package crypto_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/candour/candour/crypto"
)

func TestDerive(t *testing.T) {
	t.Parallel()
	p := fastKDFParams(t)
	code := mustNewCaseCode(t)
	keys := mustDerive(t, p, code)

	t.Run("the lookup id is 32 bytes", func(t *testing.T) {
		if len(keys.LookupID) != 32 {
			t.Errorf("len(LookupID) = %d, want 32", len(keys.LookupID))
		}
	})

	t.Run("the same code and parameters give the same lookup id", func(t *testing.T) {
		again := mustDerive(t, p, code)
		if !bytes.Equal(again.LookupID, keys.LookupID) {
			t.Errorf("LookupID differs between two derivations:\n%x\n%x", keys.LookupID, again.LookupID)
		}
	})

	t.Run("the same code typed differently gives the same lookup id", func(t *testing.T) {
		typed := mustParseCaseCode(t, strings.ToLower(strings.ReplaceAll(code.Display(), "-", " ")))
		if got := mustDerive(t, p, typed); !bytes.Equal(got.LookupID, keys.LookupID) {
			t.Errorf("LookupID depends on how the code was typed")
		}
	})

	t.Run("a different code gives a different lookup id", func(t *testing.T) {
		other := mustDerive(t, p, mustNewCaseCode(t))
		if bytes.Equal(other.LookupID, keys.LookupID) {
			t.Error("two codes gave the same LookupID")
		}
	})

	t.Run("a different salt gives a different lookup id", func(t *testing.T) {
		q := fastKDFParams(t)
		if bytes.Equal(q.Salt, p.Salt) {
			t.Fatal("NewKDFParams returned the same salt twice")
		}
		if !q.SameCost(p) {
			t.Error("SameCost is false for parameters that differ only in salt")
		}
		if other := mustDerive(t, q, code); bytes.Equal(other.LookupID, keys.LookupID) {
			t.Error("two salts gave the same LookupID")
		}
	})

	t.Run("a different cost gives a different lookup id", func(t *testing.T) {
		q := p
		q.Time = 2
		if q.SameCost(p) {
			t.Error("SameCost is true for a different time")
		}
		if other := mustDerive(t, q, code); bytes.Equal(other.LookupID, keys.LookupID) {
			t.Error("two costs gave the same LookupID")
		}
	})

	t.Run("the zero code is refused", func(t *testing.T) {
		_, err := p.Derive(crypto.CaseCode{})
		if !errors.Is(err, crypto.ErrMalformedCaseCode) {
			t.Errorf("Derive(zero) error = %v, want ErrMalformedCaseCode", err)
		}
	})

	t.Run("parameters without a salt are refused", func(t *testing.T) {
		q := p
		q.Salt = nil
		if _, err := q.Derive(code); err == nil {
			t.Error("Derive accepted parameters without a salt")
		}
	})

	t.Run("too-weak parameters are refused", func(t *testing.T) {
		q := p
		q.MemoryKiB = 1024
		if _, err := q.Derive(code); err == nil {
			t.Error("Derive accepted 1 MiB of memory")
		}
	})
}

// The lookup id is stored: if the construction ever changed, every existing
// case would become unreachable. This recomputes it from its documented
// definition, Argon2id over the canonical code then HKDF-SHA-256-Expand, and
// pins one value.
func TestDeriveMatchesDocumentedConstruction(t *testing.T) {
	t.Parallel()
	salt := make([]byte, 32)
	for i := range salt {
		salt[i] = byte(i)
	}
	p := crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, Salt: salt}
	code := mustParseCaseCode(t, "K01S-H0RD-8NBQ-BKA6-1PXX")

	master := argon2.IDKey([]byte("K01SH0RD8NBQBKA61PXX"), salt, 1, 8*1024, 1, 32)
	wantLookup, err := hkdf.Expand(sha256.New, master, "candour case lookup id v1", 32)
	if err != nil {
		t.Fatal(err)
	}

	got := mustDerive(t, p, code)
	if !bytes.Equal(got.LookupID, wantLookup) {
		t.Errorf("LookupID = %x, want %x", got.LookupID, wantLookup)
	}
	const pinned = "7f5b0bbcfded9e373f2e59384e7d2d5daf9763c32a1489e2a33c7e7b4b91a6f3"
	if hex.EncodeToString(got.LookupID) != pinned {
		t.Errorf("LookupID = %x, want pinned %s", got.LookupID, pinned)
	}
}

func TestDeriveWithDefaultParameters(t *testing.T) {
	t.Parallel()
	p, err := crypto.NewKDFParams(crypto.DefaultKDFTime, crypto.DefaultKDFMemoryKiB, crypto.DefaultKDFThreads)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "argon2id(t=3, m=64 MiB, p=2)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	start := time.Now()
	keys := mustDerive(t, p, mustNewCaseCode(t))
	t.Logf("one derivation at %v took %v", p, time.Since(start))
	if len(keys.LookupID) != 32 {
		t.Errorf("len(LookupID) = %d, want 32", len(keys.LookupID))
	}
}

func TestKDFParamsValidate(t *testing.T) {
	t.Parallel()
	salt16, salt32 := make([]byte, 16), make([]byte, 32)
	for _, tc := range []struct {
		name   string
		p      crypto.KDFParams
		wantOK bool
	}{
		{"the weakest accepted parameters are valid", crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, Salt: salt32}, true},
		{"the defaults are valid", crypto.KDFParams{Time: crypto.DefaultKDFTime, MemoryKiB: crypto.DefaultKDFMemoryKiB, Threads: crypto.DefaultKDFThreads, Salt: salt32}, true},
		{"a 16-byte salt is valid", crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, Salt: salt16}, true},
		{"the largest accepted parameters are valid", crypto.KDFParams{Time: 64, MemoryKiB: 4 * 1024 * 1024, Threads: 255, Salt: salt32}, true},
		{"zero passes are refused", crypto.KDFParams{Time: 0, MemoryKiB: 8 * 1024, Threads: 1, Salt: salt32}, false},
		{"more than 64 passes are refused", crypto.KDFParams{Time: 65, MemoryKiB: 8 * 1024, Threads: 1, Salt: salt32}, false},
		{"zero memory is refused", crypto.KDFParams{Time: 1, MemoryKiB: 0, Threads: 1, Salt: salt32}, false},
		{"just under 8 MiB of memory is refused", crypto.KDFParams{Time: 1, MemoryKiB: 8*1024 - 1, Threads: 1, Salt: salt32}, false},
		{"more than 4 GiB of memory is refused", crypto.KDFParams{Time: 1, MemoryKiB: 4*1024*1024 + 1, Threads: 1, Salt: salt32}, false},
		{"zero threads are refused", crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 0, Salt: salt32}, false},
		{"a 15-byte salt is refused", crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, Salt: make([]byte, 15)}, false},
		{"an empty non-nil salt is refused", crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, Salt: []byte{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.wantOK && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if !tc.wantOK && err == nil {
				t.Error("Validate() = nil, want an error")
			}
		})
	}
}

func TestNewKDFParams(t *testing.T) {
	t.Parallel()
	t.Run("new parameters carry a fresh 32-byte salt", func(t *testing.T) {
		p := fastKDFParams(t)
		if len(p.Salt) != 32 {
			t.Fatalf("len(Salt) = %d, want 32", len(p.Salt))
		}
		if bytes.Equal(p.Salt, make([]byte, 32)) {
			t.Error("salt is all zeros")
		}
		if p.Time != 1 || p.MemoryKiB != 8*1024 || p.Threads != 1 {
			t.Errorf("NewKDFParams(1, 8192, 1) = %+v", p)
		}
	})
	for _, tc := range []struct {
		name      string
		time, mem uint32
		threads   uint8
	}{
		{"zero passes are refused", 0, 8 * 1024, 1},
		{"less than 8 MiB is refused", 1, 4 * 1024, 1},
		{"zero threads are refused", 1, 8 * 1024, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p, err := crypto.NewKDFParams(tc.time, tc.mem, tc.threads); err == nil {
				t.Errorf("NewKDFParams accepted %v", p)
			}
		})
	}
}
