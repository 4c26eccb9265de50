package crypto_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
)

func TestKindString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind crypto.Kind
		want string
	}{
		{crypto.KindPostQuantum, "post-quantum"},
		{crypto.KindClassic, "classic X25519"},
		{crypto.Kind(0), "unknown"},
		{crypto.Kind(42), "unknown"},
	} {
		if got := tc.kind.String(); got != tc.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tc.kind), got, tc.want)
		}
	}
}

func TestParseRecipientsAcceptsOneKind(t *testing.T) {
	t.Parallel()
	pq1, pq2 := newTestKey(t, crypto.KindPostQuantum), newTestKey(t, crypto.KindPostQuantum)
	x1, x2 := newTestKey(t, crypto.KindClassic), newTestKey(t, crypto.KindClassic)

	for _, tc := range []struct {
		name     string
		file     string
		wantKind crypto.Kind
		want     []string
	}{
		{
			name:     "a file of post-quantum keys is post-quantum, in file order",
			file:     pq1.recipient + "\n" + pq2.recipient + "\n",
			wantKind: crypto.KindPostQuantum,
			want:     []string{pq1.recipient, pq2.recipient},
		},
		{
			name:     "a file of classic keys is classic, in file order",
			file:     x2.recipient + "\n" + x1.recipient + "\n",
			wantKind: crypto.KindClassic,
			want:     []string{x2.recipient, x1.recipient},
		},
		{
			name:     "a single key without a final newline is read",
			file:     pq1.recipient,
			wantKind: crypto.KindPostQuantum,
			want:     []string{pq1.recipient},
		},
		{
			name: "comments and blank lines are ignored",
			file: "# Candour organisation keys\n\n" + pq2.recipient + "\n" +
				"# second officer\n\n\n" + pq1.recipient + "\n# end\n",
			wantKind: crypto.KindPostQuantum,
			want:     []string{pq2.recipient, pq1.recipient},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, parse := range []struct {
				name string
				fn   func(string) (*crypto.Recipients, error)
			}{
				{"ParseRecipientsString", crypto.ParseRecipientsString},
				{"ParseRecipients", func(s string) (*crypto.Recipients, error) {
					return crypto.ParseRecipients(strings.NewReader(s))
				}},
			} {
				rs, err := parse.fn(tc.file)
				if err != nil {
					t.Fatalf("%s: %v", parse.name, err)
				}
				if rs.Kind() != tc.wantKind {
					t.Errorf("%s: Kind() = %v, want %v", parse.name, rs.Kind(), tc.wantKind)
				}
				if rs.Len() != len(tc.want) {
					t.Errorf("%s: Len() = %d, want %d", parse.name, rs.Len(), len(tc.want))
				}
				if got := rs.Strings(); !slices.Equal(got, tc.want) {
					t.Errorf("%s: Strings() = %q, want %q", parse.name, got, tc.want)
				}
				if got := len(rs.Organisation()); got != len(tc.want) {
					t.Errorf("%s: len(Organisation()) = %d, want %d", parse.name, got, len(tc.want))
				}
			}
		})
	}
}

func TestRecipientsAccessorsReturnCopies(t *testing.T) {
	t.Parallel()
	pq1, pq2 := newTestKey(t, crypto.KindPostQuantum), newTestKey(t, crypto.KindPostQuantum)
	rs, err := crypto.ParseRecipientsString(pq1.recipient + "\n" + pq2.recipient)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("changing the slice from Strings does not change the set", func(t *testing.T) {
		s := rs.Strings()
		s[0] = "tampered"
		if got := rs.Strings()[0]; got != pq1.recipient {
			t.Errorf("Strings()[0] = %q after caller changed its copy", got)
		}
	})
	t.Run("appending to Organisation does not change the set", func(t *testing.T) {
		other := newTestKey(t, crypto.KindPostQuantum)
		org := rs.Organisation()
		org[0] = other.identity.(*age.HybridIdentity).Recipient()
		_ = append(org, other.identity.(*age.HybridIdentity).Recipient())
		if rs.Len() != 2 {
			t.Errorf("Len() = %d after caller changed its copy", rs.Len())
		}
		ct := ageEncrypt(t, []byte("x"), rs.Organisation()...)
		if _, err := ageDecrypt(ct, pq1.identity); err != nil {
			t.Errorf("first organisation key was replaced through the returned slice: %v", err)
		}
	})
}

func TestParseRecipientsRefuses(t *testing.T) {
	t.Parallel()
	pq := newTestKey(t, crypto.KindPostQuantum)
	x := newTestKey(t, crypto.KindClassic)
	pqSecret, xSecret := pq.secret, x.secret

	for _, tc := range []struct {
		name        string
		file        string
		wantMixed   bool
		mustNotLeak string
	}{
		{name: "a post-quantum key followed by a classic key is a mix", file: pq.recipient + "\n" + x.recipient + "\n", wantMixed: true},
		{name: "a classic key followed by a post-quantum key is a mix", file: "# keys\n" + x.recipient + "\n\n" + pq.recipient + "\n", wantMixed: true},
		{name: "a garbage line is refused", file: pq.recipient + "\nnot a key\n"},
		{name: "a key with a typo is refused", file: typo(pq.recipient) + "\n"},
		{name: "a truncated classic key is refused", file: x.recipient[:20] + "\n"},
		{name: "an SSH key is refused", file: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"},
		{name: "a classic secret key is refused without being quoted", file: xSecret + "\n", mustNotLeak: xSecret},
		{name: "a post-quantum secret key is refused without being quoted", file: pqSecret + "\n", mustNotLeak: pqSecret},
		{name: "a secret key after a valid key is refused without being quoted", file: x.recipient + "\n" + xSecret + "\n", mustNotLeak: xSecret},
		{name: "an empty file is refused", file: ""},
		{name: "a file of comments and blank lines only is refused", file: "# no keys yet\n\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := crypto.ParseRecipientsString(tc.file)
			if err == nil {
				t.Fatalf("accepted, kind %v with %d keys", rs.Kind(), rs.Len())
			}
			if rs != nil {
				t.Errorf("returned a non-nil set with an error")
			}
			if got := errors.Is(err, crypto.ErrMixedRecipients); got != tc.wantMixed {
				t.Errorf("errors.Is(err, ErrMixedRecipients) = %v, want %v (err: %v)", got, tc.wantMixed, err)
			}
			if tc.wantMixed && !strings.Contains(err.Error(), "post-quantum") {
				t.Errorf("mixed-kind error %q does not mention post-quantum", err)
			}
			if tc.mustNotLeak != "" {
				// Check the whole key and its body, in any case.
				body := tc.mustNotLeak[len(tc.mustNotLeak)-30:]
				msg := strings.ToUpper(err.Error())
				if strings.Contains(msg, strings.ToUpper(tc.mustNotLeak)) || strings.Contains(msg, strings.ToUpper(body)) {
					t.Errorf("error quotes the secret key: %v", err)
				}
			}
		})
	}
}

func TestForCase(t *testing.T) {
	t.Parallel()
	for _, kind := range bothKinds() {
		other := crypto.KindClassic
		if kind == crypto.KindClassic {
			other = crypto.KindPostQuantum
		}
		org1, org2 := newTestKey(t, kind), newTestKey(t, kind)
		rs, err := crypto.ParseRecipientsString(org1.recipient + "\n" + org2.recipient + "\n")
		if err != nil {
			t.Fatal(err)
		}

		t.Run("a "+kind.String()+" organisation gets its keys plus the case key", func(t *testing.T) {
			c := newTestKey(t, kind)
			got, err := rs.ForCase(c.recipient)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != rs.Len()+1 {
				t.Fatalf("len(ForCase) = %d, want %d", len(got), rs.Len()+1)
			}
			last, ok := got[len(got)-1].(interface{ String() string })
			if !ok || last.String() != c.recipient {
				t.Errorf("last recipient is %v, want the case key %s", got[len(got)-1], c.recipient)
			}
			if rs.Len() != 2 {
				t.Errorf("ForCase changed the organisation set: Len() = %d", rs.Len())
			}
			if again, _ := rs.ForCase(c.recipient); len(again) != 3 {
				t.Errorf("second ForCase returned %d keys, want 3", len(again))
			}
		})

		t.Run("a "+kind.String()+" organisation refuses a "+other.String()+" case key", func(t *testing.T) {
			c := newTestKey(t, other)
			if got, err := rs.ForCase(c.recipient); err == nil {
				t.Errorf("accepted a case key of the other kind: %d recipients", len(got))
			} else if !strings.Contains(err.Error(), other.String()) || !strings.Contains(err.Error(), kind.String()) {
				t.Errorf("error %q does not name both kinds", err)
			}
		})

		c := newTestKey(t, kind)
		for _, bad := range []struct {
			name, recipient string
		}{
			{"an empty case key", ""},
			{"a garbage case key", "hello"},
			{"a case key with a typo", c.recipient[:len(c.recipient)-2]},
			{"two case keys", c.recipient + "\n" + newTestKey(t, kind).recipient},
			{"a case secret key", c.secret},
		} {
			t.Run("a "+kind.String()+" organisation refuses "+bad.name, func(t *testing.T) {
				got, err := rs.ForCase(bad.recipient)
				if err == nil {
					t.Fatalf("accepted: %d recipients", len(got))
				}
				if !strings.Contains(err.Error(), "malformed case recipient") {
					t.Errorf("error %q does not say the case recipient is malformed", err)
				}
				if strings.Contains(err.Error(), c.secret) {
					t.Errorf("error quotes the secret key")
				}
			})
		}
	}
}

func TestForCaseEncryptsToOrganisationAndCase(t *testing.T) {
	t.Parallel()
	for _, kind := range bothKinds() {
		t.Run("a "+kind.String()+" file is readable by each officer and by the case, and by no one else", func(t *testing.T) {
			org1, org2 := newTestKey(t, kind), newTestKey(t, kind)
			_, caseID, recipients := caseRecipients(t, kind, org1, org2)
			plain := []byte("the warehouse manager falsifies the safety logs")
			ct := ageEncrypt(t, plain, recipients...)

			for _, reader := range []struct {
				name string
				id   age.Identity
			}{
				{"first officer", org1.identity},
				{"second officer", org2.identity},
				{"case", caseID.Identity()},
			} {
				got, err := ageDecrypt(ct, reader.id)
				if err != nil {
					t.Errorf("%s cannot decrypt: %v", reader.name, err)
					continue
				}
				if !bytes.Equal(got, plain) {
					t.Errorf("%s decrypted %q, want %q", reader.name, got, plain)
				}
			}

			for _, k := range bothKinds() {
				stranger := newTestKey(t, k)
				if _, err := ageDecrypt(ct, stranger.identity); err == nil {
					t.Errorf("an unrelated %v identity decrypted the file", k)
				} else {
					var noMatch *age.NoIdentityMatchError
					if !errors.As(err, &noMatch) {
						t.Errorf("unrelated %v identity: error %v is not a NoIdentityMatchError", k, err)
					}
				}
			}
		})
	}
}

func TestForCaseIdentity(t *testing.T) {
	t.Parallel()
	for _, kind := range bothKinds() {
		other := crypto.KindClassic
		if kind == crypto.KindClassic {
			other = crypto.KindPostQuantum
		}
		rs, err := crypto.ParseRecipientsString(newTestKey(t, kind).recipient + "\n" + newTestKey(t, kind).recipient)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a "+kind.String()+" case identity gives what ForCase gives for its recipient", func(t *testing.T) {
			id, err := crypto.NewCaseIdentity(kind)
			if err != nil {
				t.Fatal(err)
			}
			// Also after the round trip through wrapping, as a follow-up
			// session gets it.
			keys, err := fastKDFParams(t).Derive(mustNewCaseCode(t))
			if err != nil {
				t.Fatal(err)
			}
			wrapped, err := crypto.WrapCaseIdentity(keys, id)
			if err != nil {
				t.Fatal(err)
			}
			unwrapped, err := crypto.UnwrapCaseIdentity(keys, wrapped)
			if err != nil {
				t.Fatal(err)
			}
			want, err := rs.ForCase(id.Recipient())
			if err != nil {
				t.Fatal(err)
			}
			for _, cid := range []*crypto.CaseIdentity{id, unwrapped} {
				got, err := rs.ForCaseIdentity(cid)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("%d recipients, want %d", len(got), len(want))
				}
				for i := range got {
					g, w := got[i].(interface{ String() string }), want[i].(interface{ String() string })
					if g.String() != w.String() {
						t.Errorf("recipient %d is %s, want %s", i, g, w)
					}
				}
				ct := ageEncrypt(t, []byte("x"), got...)
				if _, err := ageDecrypt(ct, cid.Identity()); err != nil {
					t.Errorf("the case cannot read what was encrypted to it: %v", err)
				}
			}
			if rs.Len() != 2 {
				t.Errorf("ForCaseIdentity changed the organisation set: Len() = %d", rs.Len())
			}
		})
		t.Run("a "+kind.String()+" organisation refuses a "+other.String()+" case identity", func(t *testing.T) {
			id, err := crypto.NewCaseIdentity(other)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := rs.ForCaseIdentity(id); err == nil {
				t.Errorf("accepted a case identity of the other kind: %d recipients", len(got))
			}
		})
	}
}

// typo changes the last character of a key to another one of its bech32
// alphabet (replacing it with a fixed letter would leave one key in 32
// unchanged, and the test would fail at random).
func typo(key string) string {
	last := key[len(key)-1]
	c := byte('q')
	if last == c {
		c = 'p'
	}
	return key[:len(key)-1] + string(c)
}
