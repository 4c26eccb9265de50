package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// withKDF starts a server with other Argon2id parameters than fastKDF
// (more passes, the same memory: as cheap for the tests, and a set of its
// own in the database).
func withKDF(passes uint32) func(*server.Config) {
	return func(cfg *server.Config) {
		cfg.KDF = crypto.KDFParams{Time: passes, MemoryKiB: fastKDF.MemoryKiB, Threads: fastKDF.Threads}
	}
}

// followup posts a code to /followup and returns the status.
func followup(c *http.Client, base, code string) (int, error) {
	res, err := c.PostForm(base+"/followup", url.Values{"code": {code}})
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// An instance started (or restarted in a rolling upgrade) with other
// --kdf-* flags than one already running stores a parameter set of its
// own and makes its cases with it. The instance already running learns
// that set when a login misses every set it knows: the reporter of such a
// case, whose follow-up lands on it, gets in and sees the staff's reply,
// and wrong codes are still refused everywhere. A wrong code learns the
// new set as a right one does (the work of a login must not tell them
// apart), and logins that miss at the same moment learn it safely.
func TestKDFSetOfALaterInstanceOpensOnTheFirst(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	one := startServer(t, nil)
	two := startPeer(t, one, withKDF(2))

	sets, err := one.DB.KDFParamSets(ctx)
	must(t, err)
	if len(sets) != 2 || sets[0].Time != 2 {
		t.Fatalf("stored sets %+v, want the peer's (2 passes) newest of two", sets)
	}
	if n := server.KnownKDFSets(one.Srv); n != 1 {
		t.Fatalf("the first instance knows %d sets before any login, want 1", n)
	}

	// A report on the peer, made with the peer's set; a reply on the first.
	code := submit(t, two, "the sergeant's messages, kdf peer marker")
	cs, _ := newestCase(t, two)
	if cs.KDFID != sets[0].ID {
		t.Fatalf("the peer's case has kdf set %d, want its own %d", cs.KDFID, sets[0].ID)
	}
	staff, csrf := loggedIn(t, one, "hana", storage.RoleCaseworker)
	rs, err := crypto.ParseRecipientsString(one.OrgKey.Recipient().String())
	must(t, err)
	recipients, err := rs.ForCase(cs.Recipient)
	must(t, err)
	sealed, err := crypto.SealMessage(crypto.Message{Text: "Which chat group was it? (reply marker)"}, recipients)
	must(t, err)
	if res, body := staffUpload(t, staff, one.URL+"/staff/case/"+cs.Ref+"/reply", csrf, [][2]string{{"message", string(sealed)}}, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("reply on the first instance: %d %s", res.StatusCode, body)
	}

	// The reporter's follow-up lands on the first instance.
	c := login(t, one, code)
	res, page := get(t, c, one.URL+"/case")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "kdf peer marker") || !strings.Contains(page, "reply marker") {
		t.Fatalf("the peer's case on the first instance: status %d: %s", res.StatusCode, page)
	}
	if n := server.KnownKDFSets(one.Srv); n != 2 {
		t.Errorf("the first instance knows %d sets after the login, want 2", n)
	}

	// Wrong codes are refused on both, well-formed or not.
	wrong, err := crypto.NewCaseCode()
	must(t, err)
	for _, ts := range []*testServer{one, two} {
		for _, attempt := range []string{wrong.Display(), code[:len(code)-1] + "Z", "not a code"} {
			if attempt == code {
				continue
			}
			status, err := followup(client(t), ts.URL, attempt)
			must(t, err)
			if status != http.StatusForbidden {
				t.Fatalf("a wrong code on %s: status %d, want 403", ts.URL, status)
			}
		}
	}

	// A third instance with a set of its own: logins that miss on the
	// first instance at once, right and wrong codes, all get their answer.
	three := startPeer(t, one, withKDF(3))
	third := submit(t, three, "a report on the third instance")
	attempts := []string{third, third, wrong.Display(), "not a code", third}
	want := []int{http.StatusSeeOther, http.StatusSeeOther, http.StatusForbidden, http.StatusForbidden, http.StatusSeeOther}
	got := make([]int, len(attempts))
	errs := make([]error, len(attempts))
	clients := make([]*http.Client, len(attempts))
	for i := range clients {
		clients[i] = client(t)
	}
	var wg sync.WaitGroup
	for i, attempt := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = followup(clients[i], one.URL, attempt)
		}()
	}
	wg.Wait()
	for i := range attempts {
		if errs[i] != nil || got[i] != want[i] {
			t.Errorf("login %d at once on the first instance: status %d (%v), want %d", i, got[i], errs[i], want[i])
		}
	}
	if n := server.KnownKDFSets(one.Srv); n != 3 {
		t.Errorf("the first instance knows %d sets after the third's, want 3", n)
	}

	// A fourth: a wrong code alone, the first login to miss after it,
	// learns its set, and the fourth's reporter then gets in.
	four := startPeer(t, one, withKDF(4))
	fourth := submit(t, four, "a report on the fourth instance")
	if status, err := followup(client(t), one.URL, wrong.Display()); err != nil || status != http.StatusForbidden {
		t.Fatalf("a wrong code after the fourth started: status %d (%v), want 403", status, err)
	}
	if n := server.KnownKDFSets(one.Srv); n != 4 {
		t.Errorf("after a wrong code the first instance knows %d sets, want 4", n)
	}
	c = login(t, one, fourth)
	if res, page := get(t, c, one.URL+"/case"); res.StatusCode != http.StatusOK || !strings.Contains(page, "fourth instance") {
		t.Fatalf("the fourth's case on the first instance: status %d: %s", res.StatusCode, page)
	}
}
