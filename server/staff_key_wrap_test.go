package server_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/candour/candour/storage"
)

const fido2prfLabel = "age-encryption.org/fido2prf"

// prfRecipient wraps a file key as age-encryption's WebAuthnRecipient does,
// with an emulated authenticator: the PRF of an input is HMAC-SHA-256
// under secret of SHA-256("WebAuthn PRF" || 0 || input).
type prfRecipient struct{ secret []byte }

func (r prfRecipient) prf(input []byte) []byte {
	salt := sha256.Sum256(append([]byte("WebAuthn PRF\x00"), input...))
	m := hmac.New(sha256.New, r.secret)
	m.Write(salt[:])
	return m.Sum(nil)
}

func (r prfRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	in := func(b byte) []byte { return append(append([]byte(fido2prfLabel), b), nonce...) }
	m := hmac.New(sha256.New, []byte(fido2prfLabel)) // HKDF-Extract, the label as salt
	m.Write(r.prf(in(1)))
	m.Write(r.prf(in(2)))
	aead, err := chacha20poly1305.New(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	body := aead.Seal(nil, make([]byte, chacha20poly1305.NonceSize), fileKey, nil)
	return []*age.Stanza{{Type: fido2prfLabel, Args: []string{base64.RawStdEncoding.EncodeToString(nonce)}, Body: body}}, nil
}

// sealTo is an age file of text encrypted to rs, armored if asked.
func sealTo(t *testing.T, text string, armored bool, rs ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	var out interface {
		Write([]byte) (int, error)
		Close() error
	} = nopCloser{&buf}
	if armored {
		out = armor.NewWriter(&buf)
	}
	w, err := age.Encrypt(out, rs...)
	must(t, err)
	_, err = w.Write([]byte(text))
	must(t, err)
	must(t, w.Close())
	must(t, out.Close())
	return buf.Bytes()
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// A caseworker keeps their key wrapped by a passkey with their account:
// only a well-formed age file whose every stanza is fido2prf is kept,
// never a plain key; only their own session gets it back; saving and
// removing are audited; a credentials reset drops it.
func TestStaffKeyWrapped(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	erin, csrf := loggedIn(t, ts, "erin", storage.RoleCaseworker)
	frank, _ := loggedIn(t, ts, "frank", storage.RoleAdmin)
	id, err := age.GenerateHybridIdentity()
	must(t, err)
	x, err := age.GenerateX25519Identity()
	must(t, err)
	passkey := prfRecipient{secret: []byte("erin's authenticator, 32 bytes!!")}
	save := func(csrf string, file []byte, hint string) (*http.Response, string) {
		return staffUpload(t, erin, ts.URL+"/staff/key/wrapped", csrf, [][2]string{{"hint", hint}}, file)
	}
	kept := func() bool {
		st, err := ts.DB.StaffByUsername(t.Context(), "erin")
		must(t, err)
		has, err := ts.DB.HasWrappedIdentity(t.Context(), st.ID)
		must(t, err)
		return has
	}

	if res, body := getJSON(t, erin, ts.URL+"/staff/key/wrapped"); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "Load your key file") {
		t.Fatalf("GET before any: %d %s", res.StatusCode, body)
	}
	if _, page := get(t, erin, ts.URL+"/staff/key"); !strings.Contains(page, "The server keeps no protected key for you.") || !strings.Contains(page, `id="keywrap-protect"`) {
		t.Fatal("the key page does not offer to protect the key")
	}

	t.Run("files other than a key wrapped by a passkey are refused", func(t *testing.T) {
		keyFile := "# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
		for name, c := range map[string]struct {
			file []byte
			hint string
			want string
		}{
			"a plain key file":                 {[]byte(keyFile), "", "That is a plain key file"},
			"a plain key, lower case":          {[]byte(strings.ToLower(id.String())), "", "That is a plain key file"},
			"a file encrypted to an age key":   {sealTo(t, id.String(), false, x.Recipient()), "", "encrypted to something other than a passkey"},
			"a file also encrypted to a key":   {sealTo(t, id.String(), true, passkey, x.Recipient()), "", "encrypted to something other than a passkey"},
			"not an age file":                  {[]byte("hello"), "", "not a well-formed age file"},
			"a truncated header":               {sealTo(t, id.String(), false, passkey)[:60], "", "not a well-formed age file"},
			"an empty file":                    {[]byte{}, "", "holds no wrapped key"},
			"a file too large":                 {bytes.Repeat([]byte("a"), storage.MaxWrappedIdentity+1), "", "larger than 16 KiB"},
			"a hint that is not fido2prf's":    {sealTo(t, id.String(), false, passkey), "AGE-PLUGIN-YUBIKEY-1QQQQQQ", "not an AGE-PLUGIN-FIDO2PRF-1"},
			"a hint that is a secret key":      {sealTo(t, id.String(), false, passkey), id.String(), "That is a secret key"},
			"a hint that is not bech32 at all": {sealTo(t, id.String(), false, passkey), "hello", "not an AGE-PLUGIN-FIDO2PRF-1"},
		} {
			t.Run(name, func(t *testing.T) {
				res, body := save(csrf, c.file, c.hint)
				if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.want) {
					t.Fatalf("%d %s, want 400 saying %q", res.StatusCode, body, c.want)
				}
				secret := id.String()[len(id.String())-20:]
				for where, text := range map[string]string{"answer": body, "log": ts.Log.String()} {
					if strings.Contains(strings.ToUpper(text), secret) {
						t.Errorf("the %s holds the secret key", where)
					}
				}
			})
		}
		if kept() {
			t.Fatal("a refused file was kept")
		}
	})

	t.Run("without the CSRF token nothing is kept", func(t *testing.T) {
		for _, token := range []string{"", "forged"} {
			if res, _ := save(token, sealTo(t, id.String(), false, passkey), ""); res.StatusCode != http.StatusForbidden {
				t.Errorf("csrf %q: %d", token, res.StatusCode)
			}
		}
		if kept() {
			t.Fatal("kept without a CSRF token")
		}
	})

	hint := plugin.EncodeIdentity("fido2prf", []byte{1, 0x44, 1, 2, 3, 4, 0x69, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0x80})
	for _, armored := range []bool{false, true} {
		file := sealTo(t, id.String()+"\n", armored, passkey)
		if res, body := save(csrf, file, hint); res.StatusCode != http.StatusOK || !strings.Contains(body, `"saved":true`) {
			t.Fatalf("save (armored %t): %d %s", armored, res.StatusCode, body)
		}
		res, body := getJSON(t, erin, ts.URL+"/staff/key/wrapped")
		var got struct {
			File []byte
			Hint string
		}
		must(t, json.Unmarshal([]byte(body), &got))
		if res.StatusCode != http.StatusOK || !bytes.Equal(got.File, file) || got.Hint != hint || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET (armored %t): %d, the file kept is not the one sent", armored, res.StatusCode)
		}
		// What came back opens with the authenticator alone.
		r := bytes.NewReader(got.File)
		var in interface{ Read([]byte) (int, error) } = r
		if armored {
			in = armor.NewReader(r)
		}
		out, err := age.Decrypt(in, prfIdentity{passkey})
		must(t, err)
		var text bytes.Buffer
		_, err = text.ReadFrom(out)
		must(t, err)
		if strings.TrimSpace(text.String()) != id.String() {
			t.Fatal("the kept file does not open to the key")
		}
		// A browser following the page's link gets the file itself.
		res, raw := get(t, erin, ts.URL+"/staff/key/wrapped")
		if res.StatusCode != http.StatusOK || raw != string(file) || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("download: %d", res.StatusCode)
		}
	}
	if _, page := get(t, erin, ts.URL+"/staff/key"); !strings.Contains(page, "Your key is protected by a security key since") || !strings.Contains(page, hint) {
		t.Fatal("the key page does not say the key is kept, with its identity string")
	}

	t.Run("another account's session gets only its own", func(t *testing.T) {
		if res, body := getJSON(t, frank, ts.URL+"/staff/key/wrapped"); res.StatusCode != http.StatusNotFound || strings.Contains(body, "age-encryption") {
			t.Fatalf("frank: %d %s", res.StatusCode, body)
		}
		if res, _ := get(t, client(t), ts.URL+"/staff/key/wrapped"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("without a session: %d", res.StatusCode)
		}
	})

	remove := func(token string) (*http.Response, string) {
		return post(t, erin, ts.URL+"/staff/key/wrapped/remove", strings.NewReader(url.Values{"csrf": {token}}.Encode()), "application/x-www-form-urlencoded")
	}
	if res, _ := remove("forged"); res.StatusCode != http.StatusForbidden || !kept() {
		t.Fatalf("remove with a forged token: %d", res.StatusCode)
	}
	if res, page := remove(csrf); res.StatusCode != http.StatusOK || !strings.Contains(page, "The server no longer keeps your key protected by a passkey") || kept() {
		t.Fatalf("remove: %d", res.StatusCode)
	}
	if res, _ := getJSON(t, erin, ts.URL+"/staff/key/wrapped"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET after removal: %d", res.StatusCode)
	}
	if got, want := auditOf(t, ts, "staff.key.wrap.set"), []string{"erin erin security key", "erin erin security key"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("save audit entries %q, want %q", got, want)
	}
	if got := auditOf(t, ts, "staff.key.wrap.remove"); len(got) != 1 || got[0] != "erin erin " {
		t.Errorf("remove audit entries %q", got)
	}
	must(t, ts.DB.VerifyAudit(t.Context()))
}

// prfIdentity unwraps what prfRecipient wrapped, with the same emulated
// authenticator.
type prfIdentity struct{ r prfRecipient }

func (p prfIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		nonce, err := base64.RawStdEncoding.DecodeString(s.Args[0])
		if s.Type != fido2prfLabel || err != nil {
			continue
		}
		in := func(b byte) []byte { return append(append([]byte(fido2prfLabel), b), nonce...) }
		m := hmac.New(sha256.New, []byte(fido2prfLabel))
		m.Write(p.r.prf(in(1)))
		m.Write(p.r.prf(in(2)))
		aead, err := chacha20poly1305.New(m.Sum(nil))
		if err != nil {
			return nil, err
		}
		if key, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), s.Body, nil); err == nil {
			return key, nil
		}
	}
	return nil, age.ErrIncorrectIdentity
}
