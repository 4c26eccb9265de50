package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// The installation's public address in these tests: passkeys are bound to
// it (RP ID "localhost", origin http://localhost:8080), whatever address
// the test's client reaches the server by.
const (
	passkeyOrigin = "http://localhost:8080"
	passkeyRPID   = "localhost"
)

func withPasskeys(cfg *server.Config) { cfg.PublicURL = passkeyOrigin + "/" }

// softKey is a software authenticator: a P-256 key pair, "none"
// attestation, and the authenticator data and client data a browser and
// its authenticator would make, for the origin and RP ID it is told
// (which a test may get wrong on purpose).
type softKey struct {
	priv       *ecdsa.PrivateKey
	id         []byte
	userHandle []byte
	count      uint32
	origin     string
	rpID       string
	uv         bool // user verified (UV flag)
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{priv: priv, id: id, origin: passkeyOrigin, rpID: passkeyRPID, uv: true}
}

var b64 = base64.RawURLEncoding

const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

// authData is the authenticator data: RP ID hash, flags, counter, and for
// a registration the attested credential (AAGUID, id, COSE public key).
func (k *softKey) authData(t *testing.T, attested bool) []byte {
	t.Helper()
	rpHash := sha256.Sum256([]byte(k.rpID))
	flags := byte(flagUP)
	if k.uv {
		flags |= flagUV
	}
	if attested {
		flags |= flagAT
	}
	out := append(rpHash[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.count)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(k.id)))
		out = append(out, k.id...)
		pub, err := k.priv.PublicKey.Bytes() // 0x04 ‖ x ‖ y
		must(t, err)
		x, y := pub[1:33], pub[33:65]
		cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
		must(t, err)
		out = append(out, cose...)
	}
	return out
}

func (k *softKey) clientData(t *testing.T, typ, challenge string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	must(t, err)
	return b
}

// create answers creation options ({"publicKey": …}) as
// PublicKeyCredential.toJSON() would.
func (k *softKey) create(t *testing.T, options string) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	must(t, json.Unmarshal([]byte(options), &o))
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	must(t, err)
	k.userHandle = handle
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(t, true)})
	must(t, err)
	b, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(k.clientData(t, "webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
	})
	must(t, err)
	return string(b)
}

// get answers request options with an assertion, counting one use.
func (k *softKey) get(t *testing.T, options string) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	must(t, json.Unmarshal([]byte(options), &o))
	k.count++
	ad := k.authData(t, false)
	cd := k.clientData(t, "webauthn.get", o.PublicKey.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	must(t, err)
	b, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.userHandle),
		},
	})
	must(t, err)
	return string(b)
}

func postValues(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return do(t, c, req)
}

// addPasskey registers k for the logged-in client c.
func addPasskey(t *testing.T, ts *testServer, c *http.Client, csrf, name string, k *softKey) {
	t.Helper()
	res, options := postValues(t, c, ts.URL+"/staff/passkeys/options", url.Values{"csrf": {csrf}, "password": {goodPassword}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("registration options: %d %s", res.StatusCode, options)
	}
	res, body := postValues(t, c, ts.URL+"/staff/passkeys", url.Values{"csrf": {csrf}, "name": {name}, "credential": {k.create(t, options)}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"`+name+`"`) {
		t.Fatalf("registering %q: %d %s", name, res.StatusCode, body)
	}
}

var stepCSRFRE = regexp.MustCompile(`id="passkey-step" data-csrf="([^"]+)"`)

// passwordStep logs in with the password and no code, and returns the
// client (holding the step's cookie) and the step page's CSRF token.
func passwordStep(t *testing.T, ts *testServer, username string) (*http.Client, string) {
	t.Helper()
	c := client(t)
	res, page := staffLogin(t, ts, c, username, goodPassword, "")
	m := stepCSRFRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("password without a code, for an account with a passkey: %d %s", res.StatusCode, page)
	}
	return c, m[1]
}

// passkeyLogin runs the passkey step with k and returns the answer.
func passkeyLogin(t *testing.T, ts *testServer, c *http.Client, csrf string, k *softKey) (*http.Response, string) {
	t.Helper()
	res, options := postValues(t, c, ts.URL+"/staff/login/passkey/options", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login options: %d %s", res.StatusCode, options)
	}
	return postValues(t, c, ts.URL+"/staff/login/passkey", url.Values{"csrf": {csrf}, "credential": {k.get(t, options)}})
}

// newestAudit is the newest audit entry with the action, as "actor target
// detail", or "".
func newestAudit(t *testing.T, ts *testServer, action string) string {
	t.Helper()
	all := auditOf(t, ts, action)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

func TestPasskeyRegistrationAndLogin(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withPasskeys)
	c, csrf := loggedIn(t, ts, "pia", storage.RoleCaseworker)
	res, page := get(t, c, ts.URL+"/staff/passkeys")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="passkey-add"`) || !strings.Contains(page, `id="passkey-none"`) {
		t.Fatalf("passkeys page: %d %s", res.StatusCode, page)
	}
	// Without the session's CSRF token, nothing is begun.
	if res, _ := postValues(t, c, ts.URL+"/staff/passkeys/options", url.Values{"csrf": {"wrong"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("options without the CSRF token: %d", res.StatusCode)
	}
	// Nor without the password, asked again: a session alone adds no
	// way in. A wrong one counts as a failed login.
	for _, pw := range []string{"", "not the password"} {
		if res, _ := postValues(t, c, ts.URL+"/staff/passkeys/options", url.Values{"csrf": {csrf}, "password": {pw}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("options with password %q: %d", pw, res.StatusCode)
		}
	}
	if got := newestAudit(t, ts, "staff.passkey_refused"); !strings.Contains(got, "wrong password") {
		t.Errorf("audit of the refused password: %q", got)
	}
	if n := mustStaff(t, ts, "pia").FailedLogins; n != 2 {
		t.Errorf("failed logins after two wrong passwords: %d, want 2", n)
	}
	k := newSoftKey(t)
	addPasskey(t, ts, c, csrf, "Work laptop", k)
	if got := newestAudit(t, ts, "staff.passkey_added"); !strings.Contains(got, "pia pia") || !strings.Contains(got, "Work laptop") {
		t.Errorf("audit of the registration: %q", got)
	}
	if len(k.userHandle) != 32 {
		t.Errorf("the user handle is %d bytes, want 32 random bytes", len(k.userHandle))
	}
	_, page = get(t, c, ts.URL+"/staff/passkeys")
	if !strings.Contains(page, `id="passkey-list"`) || !strings.Contains(page, "Work laptop") {
		t.Fatalf("the new passkey is not listed: %s", page)
	}
	// The registration's challenge was spent: the same answer again is refused.
	_, options := postValues(t, c, ts.URL+"/staff/passkeys/options", url.Values{"csrf": {csrf}, "password": {goodPassword}})
	k2 := newSoftKey(t)
	answer := k2.create(t, options)
	if res, body := postValues(t, c, ts.URL+"/staff/passkeys", url.Values{"csrf": {csrf}, "name": {"Key"}, "credential": {answer}}); res.StatusCode != http.StatusOK {
		t.Fatalf("second passkey: %d %s", res.StatusCode, body)
	}
	if res, _ := postValues(t, c, ts.URL+"/staff/passkeys", url.Values{"csrf": {csrf}, "name": {"Key again"}, "credential": {answer}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("a registration challenge used twice: %d", res.StatusCode)
	}

	// Password, no code, then the passkey.
	ts.advance(time.Minute)
	lc, stepCSRF := passwordStep(t, ts, "pia")
	res, body := passkeyLogin(t, ts, lc, stepCSRF, k)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"redirect":"/staff/"`) {
		t.Fatalf("passkey login: %d %s", res.StatusCode, body)
	}
	if res, _ := get(t, lc, ts.URL+"/staff/"); res.StatusCode != http.StatusOK {
		t.Fatalf("inbox after a passkey login: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.login"); !strings.Contains(got, "with passkey") {
		t.Errorf("audit of the login: %q", got)
	}
	_, page = get(t, lc, ts.URL+"/staff/passkeys")
	if strings.Count(page, ">never<") != 1 {
		t.Errorf("the used passkey should show when it was last used, the other never: %s", page)
	}
	if st := mustStaff(t, ts, "pia"); st.FailedLogins != 0 {
		t.Errorf("%d failed logins after a good one", st.FailedLogins)
	}
}

func TestPasskeyChallengeIsSingleUse(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withPasskeys)
	c, csrf := loggedIn(t, ts, "quinn", storage.RoleCaseworker)
	k := newSoftKey(t)
	addPasskey(t, ts, c, csrf, "Key", k)

	lc, stepCSRF := passwordStep(t, ts, "quinn")
	_, options := postValues(t, lc, ts.URL+"/staff/login/passkey/options", url.Values{"csrf": {stepCSRF}})
	answer := k.get(t, options)
	form := url.Values{"csrf": {stepCSRF}, "credential": {answer}}
	if res, body := postValues(t, lc, ts.URL+"/staff/login/passkey", form); res.StatusCode != http.StatusOK {
		t.Fatalf("first use: %d %s", res.StatusCode, body)
	}
	before := len(auditOf(t, ts, "staff.login_failed"))
	// The same answer again, from the same browser: the challenge is gone.
	if res, _ := postValues(t, lc, ts.URL+"/staff/login/passkey", form); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a challenge answered twice: %d", res.StatusCode)
	}
	if got := auditOf(t, ts, "staff.login_failed"); len(got) != before+1 || !strings.Contains(got[len(got)-1], "used already") {
		t.Errorf("audit of the replay: %q", got)
	}
	// Nor does it open a session from a browser without the step's cookie.
	if res, _ := postValues(t, client(t), ts.URL+"/staff/login/passkey", form); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an answer without its step: %d", res.StatusCode)
	}

	// One answer sent twice at once: exactly one opens a session.
	lc, stepCSRF = passwordStep(t, ts, "quinn")
	_, options = postValues(t, lc, ts.URL+"/staff/login/passkey/options", url.Values{"csrf": {stepCSRF}})
	form = url.Values{"csrf": {stepCSRF}, "credential": {k.get(t, options)}}
	codes := make(chan int, 2)
	for range 2 {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/staff/login/passkey", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range lc.Jar.Cookies(req.URL) {
				req.AddCookie(ck)
			}
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				codes <- 0
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	got := []int{<-codes, <-codes}
	if ok := (got[0] == http.StatusOK) != (got[1] == http.StatusOK); !ok || got[0]+got[1] != http.StatusOK+http.StatusUnauthorized {
		t.Fatalf("one answer sent twice at once: %v, want one 200 and one 401", got)
	}
	if n := len(auditOf(t, ts, "staff.passkey_clone_refused")); n != 0 {
		t.Errorf("a replay was audited as a clone (%d)", n)
	}

	// A registration's challenge belongs to the session that asked for
	// it: another session of the same account cannot answer it.
	_, options = postValues(t, c, ts.URL+"/staff/passkeys/options", url.Values{"csrf": {csrf}, "password": {goodPassword}})
	answer = newSoftKey(t).create(t, options)
	lc, stepCSRF = passwordStep(t, ts, "quinn")
	if res, body := passkeyLogin(t, ts, lc, stepCSRF, k); res.StatusCode != http.StatusOK {
		t.Fatalf("second session: %d %s", res.StatusCode, body)
	}
	_, page := get(t, lc, ts.URL+"/staff/passkeys")
	other := csrfOf(t, page)
	if res, _ := postValues(t, lc, ts.URL+"/staff/passkeys", url.Values{"csrf": {other}, "name": {"Stolen"}, "credential": {answer}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("another session answered a registration challenge: %d", res.StatusCode)
	}
	// A registration made for another origin is refused and audited.
	_, options = postValues(t, c, ts.URL+"/staff/passkeys/options", url.Values{"csrf": {csrf}, "password": {goodPassword}})
	evil := newSoftKey(t)
	evil.origin = "http://localhost:9999"
	if res, _ := postValues(t, c, ts.URL+"/staff/passkeys", url.Values{"csrf": {csrf}, "name": {"Evil"}, "credential": {evil.create(t, options)}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a registration for another origin: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.passkey_refused"); !strings.Contains(strings.ToLower(got), "origin") {
		t.Errorf("audit of the refused registration: %q", got)
	}
}

func TestPasskeyRefusals(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withPasskeys)
	c, csrf := loggedIn(t, ts, "rosa", storage.RoleCaseworker)
	k := newSoftKey(t)
	addPasskey(t, ts, c, csrf, "Key", k)

	refused := func(t *testing.T, what, action, detail string) {
		t.Helper()
		before := mustStaff(t, ts, "rosa").FailedLogins
		lc, stepCSRF := passwordStep(t, ts, "rosa")
		res, body := passkeyLogin(t, ts, lc, stepCSRF, k)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
			t.Fatalf("%s: %d %s", what, res.StatusCode, body)
		}
		if res, _ := get(t, lc, ts.URL+"/staff/"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s opened a session: %d", what, res.StatusCode)
		}
		if got := newestAudit(t, ts, action); !strings.Contains(got, "rosa rosa") || !strings.Contains(strings.ToLower(got), detail) {
			t.Errorf("%s: audit %s = %q, want it to mention %q", what, action, got, detail)
		}
		// It counts as a wrong code does.
		if after := mustStaff(t, ts, "rosa").FailedLogins; after != before+1 {
			t.Errorf("%s: failed logins %d → %d", what, before, after)
		}
		ts.advance(time.Hour) // past any lock
	}

	t.Run("wrong origin", func(t *testing.T) {
		k.origin = "http://localhost.evil.example:8080"
		refused(t, "an assertion made for another origin", "staff.login_failed", "origin")
		k.origin = passkeyOrigin
	})
	t.Run("wrong RP ID", func(t *testing.T) {
		k.rpID = "evil.localhost"
		refused(t, "an assertion for another RP ID", "staff.login_failed", "rp")
		k.rpID = passkeyRPID
	})
	t.Run("user verification required by policy", func(t *testing.T) {
		must(t, ts.DB.SetPasskeyPolicy(context.Background(), storage.PasskeyPolicy{UV: true}))
		k.uv = false
		refused(t, "a passkey without user verification", "staff.login_failed", "verif")
		k.uv = true
		lc, stepCSRF := passwordStep(t, ts, "rosa")
		k.count = 100
		if res, body := passkeyLogin(t, ts, lc, stepCSRF, k); res.StatusCode != http.StatusOK {
			t.Fatalf("verified passkey: %d %s", res.StatusCode, body)
		}
	})
	t.Run("counter regression", func(t *testing.T) {
		must(t, ts.DB.SetPasskeyPolicy(context.Background(), storage.PasskeyPolicy{}))
		lc, stepCSRF := passwordStep(t, ts, "rosa")
		k.count = 1000
		if res, body := passkeyLogin(t, ts, lc, stepCSRF, k); res.StatusCode != http.StatusOK {
			t.Fatalf("login with counter 1001: %d %s", res.StatusCode, body)
		}
		// Two password steps: one for a copy of the key behind the
		// original, then one for the original, ahead.
		ahead, aheadCSRF := passwordStep(t, ts, "rosa")
		clone := *k
		clone.count = 4
		k = &clone
		behind, behindCSRF := passwordStep(t, ts, "rosa")
		if res, body := passkeyLogin(t, ts, behind, behindCSRF, k); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a cloned passkey: %d %s", res.StatusCode, body)
		}
		if got := newestAudit(t, ts, "staff.passkey_clone_refused"); !strings.Contains(got, "counter") {
			t.Errorf("the clone's refusal is audited as %q", got)
		}
		// The server cannot tell which copy is genuine (a clone may be
		// the one ahead): the passkey is suspended with that refusal, and
		// the copy ahead is refused too.
		original := *k
		original.count = 5000
		if res, body := passkeyLogin(t, ts, ahead, aheadCSRF, &original); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the copy ahead, after a regression: %d %s", res.StatusCode, body)
		}
		if got := newestAudit(t, ts, "staff.login_failed"); !strings.Contains(got, "suspended") {
			t.Errorf("the copy ahead's refusal is audited as %q", got)
		}
		ts.advance(time.Hour)
		// It counts for nothing: the password step no longer asks for it.
		if res, _ := staffLogin(t, ts, client(t), "rosa", goodPassword, ""); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("the password step still asks for a suspended passkey: %d", res.StatusCode)
		}
		// Its owner logs in with the app's code and sees why.
		ts.advance(30 * time.Second)
		c := client(t)
		if res, _ := staffLogin(t, ts, c, "rosa", goodPassword, ts.code(t, mustStaff(t, ts, "rosa").TOTPSecret)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("TOTP login after the suspension: %d", res.StatusCode)
		}
		if res, page := get(t, c, ts.URL+"/staff/passkeys"); res.StatusCode != http.StatusOK || !strings.Contains(page, "Suspended since") {
			t.Errorf("the passkeys page does not show the suspension: %d", res.StatusCode)
		}
		// It counts for nothing: the password step no longer asks for it.
		if n, err := ts.DB.CountPasskeys(context.Background(), mustStaff(t, ts, "rosa").ID); err != nil || n != 0 {
			t.Errorf("a suspended passkey still counts: %d %v", n, err)
		}
	})
	t.Run("locked account", func(t *testing.T) {
		for range 3 {
			staffLogin(t, ts, client(t), "rosa", "not the password", "")
		}
		if st := mustStaff(t, ts, "rosa"); !st.LockedUntil.After(ts.now()) {
			t.Fatalf("not locked after wrong passwords: %+v", st)
		}
		// The password step itself is refused while locked.
		if res, _ := staffLogin(t, ts, client(t), "rosa", goodPassword, ""); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("password step while locked: %d", res.StatusCode)
		}
	})
}

// Two tabs answered in the reverse order of signing: the later signature
// logs in, the earlier is refused as behind, and the passkey is not taken
// for a copy: it is not suspended, and logs in again.
func TestPasskeyTwoTabsOutOfOrder(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withPasskeys)
	c, csrf := loggedIn(t, ts, "vic", storage.RoleCaseworker)
	k := newSoftKey(t)
	addPasskey(t, ts, c, csrf, "Key", k)

	options := func(lc *http.Client, stepCSRF string) string {
		t.Helper()
		res, o := postValues(t, lc, ts.URL+"/staff/login/passkey/options", url.Values{"csrf": {stepCSRF}})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("login options: %d %s", res.StatusCode, o)
		}
		return o
	}
	tabA, csrfA := passwordStep(t, ts, "vic")
	first := k.get(t, options(tabA, csrfA)) // counter n+1
	ts.advance(2 * time.Second)
	tabB, csrfB := passwordStep(t, ts, "vic")
	second := k.get(t, options(tabB, csrfB)) // counter n+2
	ts.advance(2 * time.Second)
	if res, body := postValues(t, tabB, ts.URL+"/staff/login/passkey", url.Values{"csrf": {csrfB}, "credential": {second}}); res.StatusCode != http.StatusOK {
		t.Fatalf("the later signature: %d %s", res.StatusCode, body)
	}
	if res, _ := postValues(t, tabA, ts.URL+"/staff/login/passkey", url.Values{"csrf": {csrfA}, "credential": {first}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the earlier signature, answered last: %d, want it refused as behind", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.login_failed"); !strings.Contains(got, "came first") {
		t.Errorf("the late answer is audited as %q", got)
	}
	if n := len(auditOf(t, ts, "staff.passkey_clone_refused")); n != 0 {
		t.Errorf("two tabs out of order were taken for a clone (%d)", n)
	}
	if n, err := ts.DB.CountPasskeys(context.Background(), mustStaff(t, ts, "vic").ID); err != nil || n != 1 {
		t.Fatalf("the passkey was suspended: %d %v", n, err)
	}
	ts.advance(time.Minute)
	lc, stepCSRF := passwordStep(t, ts, "vic")
	if res, body := passkeyLogin(t, ts, lc, stepCSRF, k); res.StatusCode != http.StatusOK {
		t.Fatalf("the passkey after two tabs out of order: %d %s", res.StatusCode, body)
	}
}

func TestPasskeyAlone(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withPasskeys)
	c, csrf := loggedIn(t, ts, "sam", storage.RoleCaseworker)
	k := newSoftKey(t)
	addPasskey(t, ts, c, csrf, "Key", k)
	alone := func(k *softKey) (*http.Response, string) {
		lc := client(t)
		res, options := postValues(t, lc, ts.URL+"/staff/login/passkey/options", url.Values{"mode": {"passwordless"}})
		if res.StatusCode != http.StatusOK {
			return res, options
		}
		if !strings.Contains(options, `"userVerification":"required"`) {
			t.Errorf("passwordless options do not require user verification: %s", options)
		}
		return postValues(t, lc, ts.URL+"/staff/login/passkey", url.Values{"mode": {"passwordless"}, "credential": {k.get(t, options)}})
	}
	// Not allowed by default.
	if _, page := get(t, client(t), ts.URL+"/staff/login"); strings.Contains(page, `id="passkey-only"`) {
		t.Error("the login page offers a passkey alone, not allowed")
	}
	if res, _ := alone(k); res.StatusCode != http.StatusForbidden {
		t.Fatalf("passkey alone, not allowed: %d", res.StatusCode)
	}
	must(t, ts.DB.SetPasskeyPolicy(context.Background(), storage.PasskeyPolicy{Alone: true}))
	if _, page := get(t, client(t), ts.URL+"/staff/login"); !strings.Contains(page, `id="passkey-only"`) {
		t.Error("the login page does not offer a passkey alone")
	}
	// Without user verification: refused, audited, counted.
	k.uv = false
	if res, body := alone(k); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("passkey alone without user verification: %d %s", res.StatusCode, body)
	}
	if got := newestAudit(t, ts, "staff.login_failed"); !strings.Contains(got, "sam sam passkey alone") || !strings.Contains(strings.ToLower(got), "verif") {
		t.Errorf("audit of the refusal: %q", got)
	}
	if st := mustStaff(t, ts, "sam"); st.FailedLogins != 1 {
		t.Errorf("%d failed logins, want 1", st.FailedLogins)
	}
	k.uv = true
	res, body := alone(k)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"redirect":"/staff/"`) {
		t.Fatalf("passkey alone: %d %s", res.StatusCode, body)
	}
	if got := newestAudit(t, ts, "staff.login"); !strings.Contains(got, "with passkey alone") {
		t.Errorf("audit of the login: %q", got)
	}
	// A passkey nobody registered: refused, audited as unknown.
	stranger := newSoftKey(t)
	stranger.userHandle = []byte("no such user handle")
	if res, _ := alone(stranger); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown passkey alone: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.login_failed"); !strings.Contains(got, "unknown passkey") {
		t.Errorf("audit of an unknown passkey: %q", got)
	}
}

func TestPasskeyPolicyAndLastFactor(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withPasskeys)
	admin, adminCSRF := loggedIn(t, ts, "tara", storage.RoleAdmin)
	c, csrf := loggedIn(t, ts, "uma", storage.RoleCaseworker)

	// Without a policy, a passkey can be removed (TOTP stays).
	k := newSoftKey(t)
	addPasskey(t, ts, c, csrf, "Only", k)
	keys, _ := ts.DB.Passkeys(context.Background(), mustStaff(t, ts, "uma").ID)
	remove := func(id int64) (*http.Response, string) {
		return post(t, c, ts.URL+"/staff/passkeys/"+itoa(id)+"/remove", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()), "application/x-www-form-urlencoded")
	}
	if res, _ := remove(keys[0].ID); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("removing a passkey: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.passkey_removed"); !strings.Contains(got, "Only") {
		t.Errorf("audit of the removal: %q", got)
	}

	// Caseworkers must have one: set by an administrator, audited.
	res, _ := post(t, admin, ts.URL+"/staff/admin/passkeys", strings.NewReader(url.Values{"csrf": {adminCSRF}, "require_caseworker": {"1"}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("setting the policy: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.passkey_policy"); !strings.Contains(got, "caseworker") {
		t.Errorf("audit of the policy: %q", got)
	}
	// A caseworker cannot change it.
	if res, _ := post(t, c, ts.URL+"/staff/admin/passkeys", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()), "application/x-www-form-urlencoded"); res.StatusCode == http.StatusSeeOther {
		t.Fatal("a caseworker set the passkey policy")
	}
	// The caseworker without a passkey reaches only the passkeys page.
	res, _ = get(t, c, ts.URL+"/staff/")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/passkeys" {
		t.Fatalf("inbox without the required passkey: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := post(t, c, ts.URL+"/staff/notifications", strings.NewReader(url.Values{"csrf": {csrf}, "action": {"stop"}}.Encode()), "application/x-www-form-urlencoded"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a form without the required passkey: %d", res.StatusCode)
	}
	if res, page := get(t, c, ts.URL+"/staff/passkeys"); res.StatusCode != http.StatusOK || !strings.Contains(page, `id="passkey-required"`) {
		t.Fatalf("passkeys page: %d", res.StatusCode)
	}
	// The administrator, whose role is not required, is not held.
	if res, _ := get(t, admin, ts.URL+"/staff/"); res.StatusCode != http.StatusOK {
		t.Fatalf("administrator's inbox: %d", res.StatusCode)
	}
	addPasskey(t, ts, c, csrf, "Required", newSoftKey(t))
	if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusOK {
		t.Fatalf("inbox with the required passkey: %d", res.StatusCode)
	}
	// Its last passkey cannot be removed.
	keys, _ = ts.DB.Passkeys(context.Background(), mustStaff(t, ts, "uma").ID)
	if res, page := remove(keys[0].ID); res.StatusCode != http.StatusConflict || !strings.Contains(page, "last passkey") {
		t.Fatalf("removing the last required passkey: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.passkey_remove_refused"); !strings.Contains(got, "uma uma") {
		t.Errorf("audit of the refused removal: %q", got)
	}
	if n, _ := ts.DB.CountPasskeys(context.Background(), mustStaff(t, ts, "uma").ID); n != 1 {
		t.Fatalf("%d passkeys after a refused removal", n)
	}
	// Nor another account's.
	if res, _ := post(t, admin, ts.URL+"/staff/passkeys/"+itoa(keys[0].ID)+"/remove", strings.NewReader(url.Values{"csrf": {adminCSRF}}.Encode()), "application/x-www-form-urlencoded"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("removing another account's passkey: %d", res.StatusCode)
	}
	// Now that it has one, it must use it: the app's code, which a
	// look-alike page could relay, is refused though right, audited,
	// and the passkey asked for, with a recovery code as the way out.
	ts.advance(30 * time.Second)
	lc := client(t)
	res, page := staffLogin(t, ts, lc, "uma", goodPassword, ts.code(t, mustStaff(t, ts, "uma").TOTPSecret))
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, `id="passkey-login"`) || !strings.Contains(page, "not accepted") || !strings.Contains(page, "Recovery code") {
		t.Fatalf("password and the app's code where a passkey is required: %d", res.StatusCode)
	}
	if res, _ := get(t, lc, ts.URL+"/staff/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the refused code opened a session: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.login_failed"); !strings.Contains(got, "a passkey is required") {
		t.Errorf("audit of the refused code: %q", got)
	}
	// An administrator, whose role is not required, still logs in with it.
	ts.advance(30 * time.Second)
	if res, _ := staffLogin(t, ts, client(t), "tara", goodPassword, ts.code(t, mustStaff(t, ts, "tara").TOTPSecret)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("administrator with the app's code: %d", res.StatusCode)
	}
}

func TestRecoveryCodeLoginIsShownAtTheNextLogin(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	secret, codes := enrolWithCodes(t, ts, "vera", storage.RoleCaseworker)
	ts.advance(30 * time.Second)
	c := client(t)
	if res, _ := staffLogin(t, ts, c, "vera", goodPassword, codes[0]); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery-code login: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.login"); !strings.Contains(got, "recovery code") {
		t.Errorf("audit of the recovery-code login: %q", got)
	}
	// Not in the session that used it.
	if _, page := get(t, c, ts.URL+"/staff/"); strings.Contains(page, `id="recovery-notice"`) {
		t.Error("the notice was shown to the session that used the code")
	}
	ts.advance(30 * time.Second)
	c = client(t)
	if res, _ := staffLogin(t, ts, c, "vera", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("next login: %d", res.StatusCode)
	}
	_, page := get(t, c, ts.URL+"/staff/")
	if !strings.Contains(page, `id="recovery-notice"`) || !strings.Contains(page, "left") || !strings.Contains(page, "tell an administrator") {
		t.Fatalf("the next login does not show the notice: %s", page)
	}
	if want := itoa(int64(len(codes)-1)) + " recovery codes left"; !strings.Contains(page, want) {
		t.Errorf("the notice does not say %q", want)
	}
	if _, page := get(t, c, ts.URL+"/staff/"); strings.Contains(page, `id="recovery-notice"`) {
		t.Error("the notice was shown twice")
	}
}

func TestPasskeysOffOnPlainHTTP(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(cfg *server.Config) { cfg.PublicURL = "http://report.example.org" })
	c, csrf := loggedIn(t, ts, "wim", storage.RoleCaseworker)
	res, page := get(t, c, ts.URL+"/staff/passkeys")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="passkeys-off"`) || strings.Contains(page, `id="passkey-add"`) {
		t.Fatalf("passkeys page on plain HTTP: %d %s", res.StatusCode, page)
	}
	if res, _ := postValues(t, c, ts.URL+"/staff/passkeys/options", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("registration on plain HTTP: %d", res.StatusCode)
	}
	// A policy cannot lock anyone out where passkeys cannot work.
	must(t, ts.DB.SetPasskeyPolicy(context.Background(), storage.PasskeyPolicy{Required: map[string]bool{storage.RoleCaseworker: true}}))
	if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusOK {
		t.Fatalf("inbox under a policy passkeys cannot meet: %d", res.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestPasskeyAtEnrolment(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withPasskeys)
	ctx := context.Background()
	st, err := ts.DB.CreateStaff(ctx, "xena", storage.RoleCaseworker)
	must(t, err)
	token, err := ts.DB.NewEnrolmentToken(ctx, st.ID)
	must(t, err)
	c := client(t)
	res, page := get(t, c, ts.URL+"/staff/enrol/"+token)
	m := secretRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil || !strings.Contains(page, `id="enrol-passkey"`) {
		t.Fatalf("enrolment page: %d %s", res.StatusCode, page)
	}
	secret := m[1]
	base := ts.URL + "/staff/enrol/" + token + "/passkey"
	// A link that is not valid begins nothing.
	if res, _ := postValues(t, c, ts.URL+"/staff/enrol/nonsense/passkey/options", url.Values{}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("options for a link that is not valid: %d", res.StatusCode)
	}
	k := newSoftKey(t)
	res, options := postValues(t, c, base+"/options", url.Values{})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("enrolment options: %d %s", res.StatusCode, options)
	}
	answer := k.create(t, options)
	if res, body := postValues(t, c, base, url.Values{"name": {"Blue key"}, "credential": {answer}}); res.StatusCode != http.StatusOK {
		t.Fatalf("passkey at enrolment: %d %s", res.StatusCode, body)
	}
	if res, _ := postValues(t, c, base, url.Values{"name": {"Again"}, "credential": {answer}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("an enrolment challenge used twice: %d", res.StatusCode)
	}
	if got := newestAudit(t, ts, "staff.passkey_added"); !strings.Contains(got, "Blue key") || !strings.Contains(got, "at enrolment") {
		t.Errorf("audit: %q", got)
	}
	// The page shown again (a mistake in the form) lists it.
	if _, page := get(t, c, ts.URL+"/staff/enrol/"+token); !strings.Contains(page, "<li>Blue key</li>") {
		t.Error("the enrolment page does not list the passkey added")
	}
	// Someone else who saw the link plants a passkey from their own
	// browser: it does not survive the owner's enrolment.
	intruder := client(t)
	if res, options := postValues(t, intruder, base+"/options", url.Values{}); res.StatusCode != http.StatusOK {
		t.Fatalf("options in another browser: %d", res.StatusCode)
	} else if res, body := postValues(t, intruder, base, url.Values{"name": {"Your phone"}, "credential": {newSoftKey(t).create(t, options)}}); res.StatusCode != http.StatusOK {
		t.Fatalf("passkey from another browser: %d %s", res.StatusCode, body)
	}
	// A browser's enrolment challenge cannot be answered from another.
	if res, options := postValues(t, intruder, base+"/options", url.Values{}); res.StatusCode != http.StatusOK {
		t.Fatalf("options in another browser: %d", res.StatusCode)
	} else if res, _ := postValues(t, c, base, url.Values{"name": {"Crossed"}, "credential": {newSoftKey(t).create(t, options)}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("another browser's enrolment challenge answered: %d", res.StatusCode)
	}
	if _, page := get(t, c, ts.URL+"/staff/enrol/"+token); strings.Contains(page, "Your phone") {
		t.Error("the owner's enrolment page lists a passkey added in another browser")
	}
	// The account cannot log in before the enrolment is finished.
	if res, _ := staffLogin(t, ts, client(t), "xena", goodPassword, ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("password step before enrolment: %d", res.StatusCode)
	}
	form := url.Values{"secret": {secret}, "password": {goodPassword}, "password2": {goodPassword}, "totp": {ts.code(t, secret)}}
	if res, page := post(t, c, ts.URL+"/staff/enrol/"+token, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"); res.StatusCode != http.StatusOK || !strings.Contains(page, `id="recovery-codes"`) {
		t.Fatalf("finishing enrolment: %d", res.StatusCode)
	}
	keys, err := ts.DB.Passkeys(ctx, st.ID)
	if err != nil || len(keys) != 1 || keys[0].Name != "Blue key" || keys[0].EnrolBinding != nil {
		t.Fatalf("passkeys after enrolment: %+v %v; want only this browser's", keys, err)
	}
	if got := newestAudit(t, ts, "staff.enrolled"); !strings.Contains(got, "1 passkey(s) added through the link in another browser removed") {
		t.Errorf("the enrolment's audit entry does not tell of the removed passkey: %q", got)
	}
	// The link is spent: no more passkeys through it.
	if res, _ := postValues(t, c, base+"/options", url.Values{}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("options after enrolment: %d", res.StatusCode)
	}
	ts.advance(time.Minute)
	lc, stepCSRF := passwordStep(t, ts, "xena")
	if res, body := passkeyLogin(t, ts, lc, stepCSRF, k); res.StatusCode != http.StatusOK {
		t.Fatalf("login with the passkey from enrolment: %d %s", res.StatusCode, body)
	}
}
