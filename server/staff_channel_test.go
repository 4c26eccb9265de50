package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/storage"
)

// staffPost posts a small staff form.
func staffPost(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	return post(t, c, u, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

// getJSON fetches u as the console's script does.
func getJSON(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	must(t, err)
	req.Header.Set("Accept", "application/json")
	return do(t, c, req)
}

// wrapTo encrypts a channel identity to a member's own recipient, as the
// console's script does, and returns the base64 of the age file.
func wrapTo(t *testing.T, identity string, to age.Recipient) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, to)
	must(t, err)
	_, err = io.WriteString(w, identity+"\n")
	must(t, err)
	must(t, w.Close())
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func wrapsJSON(t *testing.T, m map[string]string) string {
	t.Helper()
	b, err := json.Marshal(m)
	must(t, err)
	return string(b)
}

type keysAnswer struct {
	Channel    int64             `json:"channel"`
	Generation int               `json:"generation"`
	Recipient  string            `json:"recipient"`
	Wraps      map[string]string `json:"wraps"`
	Members    []struct {
		ID          int64  `json:"id"`
		Username    string `json:"username"`
		Recipient   string `json:"recipient"`
		Generations []int  `json:"generations"`
	} `json:"members"`
}

// unwrap fetches a member's keys for a channel and opens their wrap of
// generation gen with their own identity: the channel identity.
func unwrap(t *testing.T, ts *testServer, c *http.Client, channel int64, gen int, own age.Identity) *age.HybridIdentity {
	t.Helper()
	res, body := getJSON(t, c, fmt.Sprintf("%s/staff/channels/%d/keys", ts.URL, channel))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("keys: %d %s", res.StatusCode, body)
	}
	var k keysAnswer
	must(t, json.Unmarshal([]byte(body), &k))
	w, ok := k.Wraps[strconv.Itoa(gen)]
	if !ok {
		t.Fatalf("keys: no wrap of generation %d: %s", gen, body)
	}
	b, err := base64.StdEncoding.DecodeString(w)
	must(t, err)
	id, err := age.ParseHybridIdentity(strings.TrimSpace(string(decryptAll(t, bytes.NewReader(b), own))))
	must(t, err)
	return id
}

// newChannel creates a channel as an administrator and returns its id.
func newChannel(t *testing.T, ts *testServer, admin *http.Client, csrf, name string) int64 {
	t.Helper()
	res, body := staffPost(t, admin, ts.URL+"/staff/admin/channels/create", url.Values{"csrf": {csrf}, "name_en": {name},
		"description_en": {"About " + name}, "name_pl": {name + " (pl)"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/staff/admin/channels/") {
		t.Fatalf("create channel: %d %s", res.StatusCode, body)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/staff/admin/channels/"), 10, 64)
	must(t, err)
	return id
}

func staffID(t *testing.T, ts *testServer, username string) int64 {
	t.Helper()
	st, err := ts.DB.StaffByUsername(context.Background(), username)
	must(t, err)
	return st.ID
}

// ownKey gives a staff member their own X25519 identity, registered.
func ownKey(t *testing.T, ts *testServer, id int64) *age.X25519Identity {
	t.Helper()
	k, err := age.GenerateX25519Identity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(context.Background(), id, k.Recipient().String()))
	return k
}

func addMember(t *testing.T, ts *testServer, admin *http.Client, csrf string, channel, staff int64) {
	t.Helper()
	res, body := staffPost(t, admin, fmt.Sprintf("%s/staff/admin/channels/%d/members/add", ts.URL, channel),
		url.Values{"csrf": {csrf}, "staff": {strconv.FormatInt(staff, 10)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add member: %d %s", res.StatusCode, body)
	}
}

// postKey posts a new key generation as the console's script does.
func postKey(t *testing.T, ts *testServer, c *http.Client, csrf string, channel int64, previous int, recipient, wraps, remove string) (*http.Response, string) {
	t.Helper()
	parts := [][2]string{{"previous", strconv.Itoa(previous)}, {"recipient", recipient}, {"wraps", wraps}}
	if remove != "" {
		parts = append(parts, [2]string{"remove", remove})
	}
	return staffUpload(t, c, fmt.Sprintf("%s/staff/channels/%d/key", ts.URL, channel), csrf, parts, nil)
}

func channelNow(t *testing.T, ts *testServer, id int64) storage.Channel {
	t.Helper()
	ch, err := ts.DB.Channel(context.Background(), id)
	must(t, err)
	return ch
}

// TestChannelKeysKeepOtherTeamsOut: a case of channel A is readable by
// A's team, with the channel key that their browser unwraps, and neither
// reachable through the server nor decryptable by B's team, with B's
// member's own key or B's channel key.
func TestChannelKeysKeepOtherTeamsOut(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	admin, adminCSRF := loggedIn(t, ts, "root", storage.RoleAdmin)
	const chA = storage.DefaultChannel
	chB := newChannel(t, ts, admin, adminCSRF, "Kent Police")
	alice, aliceCSRF := loggedIn(t, ts, "alice", storage.RoleCaseworker)
	bob, _ := loggedIn(t, ts, "bob", storage.RoleCaseworker)
	aliceID, bobID, rootID := staffID(t, ts, "alice"), staffID(t, ts, "bob"), staffID(t, ts, "root")
	addMember(t, ts, admin, adminCSRF, chA, aliceID)
	addMember(t, ts, admin, adminCSRF, chB, bobID)
	// root joined the single channel when enrolled; without a key yet,
	// they leave it directly.
	res, body := staffPost(t, admin, fmt.Sprintf("%s/staff/admin/channels/%d/members/remove", ts.URL, chA),
		url.Values{"csrf": {adminCSRF}, "staff": {strconv.FormatInt(rootID, 10)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("direct removal without a key: %d %s", res.StatusCode, body)
	}
	aliceKey, bobKey := ownKey(t, ts, aliceID), ownKey(t, ts, bobID)

	// The administrator's "browser" makes each channel's key, wrapped to
	// its one member.
	_, page := get(t, admin, fmt.Sprintf("%s/staff/admin/channels/%d", ts.URL, chA))
	for _, want := range []string{`id="channel-data"`, `data-generation="0"`, `data-kind="pq"`, `id="channel-key-create"`, `id="identity-file"`, `class="channel-remove"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("channel page lacks %s: %s", want, page)
		}
	}
	keyA, err := age.GenerateHybridIdentity()
	must(t, err)
	keyB, err := age.GenerateHybridIdentity()
	must(t, err)
	res, body = postKey(t, ts, admin, adminCSRF, chA, 0, keyA.Recipient().String(),
		wrapsJSON(t, map[string]string{strconv.FormatInt(aliceID, 10): wrapTo(t, keyA.String(), aliceKey.Recipient())}), "")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"generation":1`) {
		t.Fatalf("key A: %d %s", res.StatusCode, body)
	}
	res, body = postKey(t, ts, admin, adminCSRF, chB, 0, keyB.Recipient().String(),
		wrapsJSON(t, map[string]string{strconv.FormatInt(bobID, 10): wrapTo(t, keyB.String(), bobKey.Recipient())}), "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("key B: %d %s", res.StatusCode, body)
	}

	// A report, filed through the reporter's form, to channel A (the
	// default channel).
	if res, page := sendReport(t, ts, [][2]string{{"channel", strconv.FormatInt(chA, 10)}, {"body", "REPORT-PLAINTEXT-7d1e about channel A"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("report to A: %d %s", res.StatusCode, page)
	}
	_, inbox := get(t, alice, ts.URL+"/staff/")
	m := refRE.FindStringSubmatch(inbox)
	if m == nil || !strings.Contains(inbox, `<td data-label="Channel">`+channelNow(t, ts, chA).Text("en").Name+"</td>") {
		t.Fatalf("alice's inbox lacks the case: %s", inbox)
	}
	ref := m[1]
	cs, err := ts.DB.CaseByRef(ctx, ref)
	must(t, err)
	if cs.ChannelID != chA {
		t.Fatalf("case in channel %d", cs.ChannelID)
	}
	_, casePage := get(t, alice, ts.URL+"/staff/case/"+ref)
	for _, want := range []string{fmt.Sprintf(`data-channel="%d"`, chA), `id="case-channel">Report misconduct<`, `data-channel-generation="`, `data-channel-recipient="` + keyA.Recipient().String() + `"`} {
		if !strings.Contains(casePage, want) {
			t.Fatalf("case page lacks %s", want)
		}
	}

	// alice's browser unwraps channel A's key and replies, encrypted to
	// the organisation, the case and channel A, as the console does.
	chanA := unwrap(t, ts, alice, chA, 1, aliceKey)
	if chanA.String() != keyA.String() {
		t.Fatal("alice unwrapped another key")
	}
	// The report itself opens with the channel's key she unwrapped.
	first, err := ts.DB.Messages(ctx, cs.ID)
	must(t, err)
	res, ct := get(t, alice, fmt.Sprintf("%s/staff/case/%s/message/%d", ts.URL, ref, first[0].ID))
	if res.StatusCode != http.StatusOK || !strings.Contains(string(decryptAll(t, strings.NewReader(ct), chanA)), "REPORT-PLAINTEXT-7d1e") {
		t.Fatalf("alice cannot read the report with channel A's key: %d", res.StatusCode)
	}
	const replyText = "REPLY-PLAINTEXT-91af for channel A"
	caseRcpt, err := age.ParseHybridRecipient(cs.Recipient)
	must(t, err)
	var sealed bytes.Buffer
	w, err := age.Encrypt(&sealed, ts.OrgKey.Recipient(), caseRcpt, chanA.Recipient())
	must(t, err)
	io.WriteString(w, replyText)
	must(t, w.Close())
	res, body = staffUpload(t, alice, ts.URL+"/staff/case/"+ref+"/reply", aliceCSRF, [][2]string{{"message", sealed.String()}}, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("reply: %d %s", res.StatusCode, body)
	}
	var created struct{ ID int64 }
	must(t, json.Unmarshal([]byte(body), &created))
	res, ct = get(t, alice, fmt.Sprintf("%s/staff/case/%s/message/%d", ts.URL, ref, created.ID))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("alice fetches the reply: %d", res.StatusCode)
	}
	if got := string(decryptAll(t, strings.NewReader(ct), chanA)); got != replyText {
		t.Fatalf("alice decrypted %q", got)
	}

	// bob: no case in his inbox, 404 for the page, the ciphertext and A's keys.
	_, bobInbox := get(t, bob, ts.URL+"/staff/")
	if strings.Contains(bobInbox, ref) {
		t.Fatal("bob's inbox lists channel A's case")
	}
	msgs, err := ts.DB.Messages(ctx, cs.ID)
	must(t, err)
	for _, u := range []string{"/staff/case/" + ref, fmt.Sprintf("/staff/case/%s/message/%d", ref, msgs[0].ID),
		fmt.Sprintf("/staff/case/%s/message/%d", ref, created.ID), fmt.Sprintf("/staff/channels/%d/keys", chA)} {
		if res, _ := get(t, bob, ts.URL+u); res.StatusCode != http.StatusNotFound {
			t.Errorf("bob GET %s: %d", u, res.StatusCode)
		}
	}
	// Nor can bob's keys open any of the case's files, read from the
	// database directly.
	chanB := unwrap(t, ts, bob, chB, 1, bobKey)
	for _, msg := range msgs {
		for name, id := range map[string]age.Identity{"bob's own key": bobKey, "channel B's key": chanB} {
			if _, err := age.Decrypt(bytes.NewReader(msg.Ciphertext), id); err == nil {
				t.Errorf("%s decrypts message %d of channel A's case", name, msg.ID)
			}
		}
	}
	if len(msgs) < 2 {
		t.Fatalf("%d messages", len(msgs))
	}
}

// TestChannelJoinAndRemoval: a member added after the key exists reads
// it once granted; a member is removed only with a new generation that
// covers exactly the others, made against the newest one.
func TestChannelJoinAndRemoval(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	admin, adminCSRF := loggedIn(t, ts, "root", storage.RoleAdmin)
	ch := newChannel(t, ts, admin, adminCSRF, "Metropolitan Police")
	alice, aliceCSRF := loggedIn(t, ts, "alice", storage.RoleCaseworker)
	carol, _ := loggedIn(t, ts, "carol", storage.RoleCaseworker)
	dave, _ := loggedIn(t, ts, "dave", storage.RoleCaseworker)
	aliceID, carolID, daveID := staffID(t, ts, "alice"), staffID(t, ts, "carol"), staffID(t, ts, "dave")
	aliceKey, carolKey := ownKey(t, ts, aliceID), ownKey(t, ts, carolID)
	addMember(t, ts, admin, adminCSRF, ch, aliceID)
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	gen1, err := age.GenerateHybridIdentity()
	must(t, err)
	// Refused: a recipient that is not one age key, a wrap that is not an
	// age file, a classic key for a post-quantum installation.
	classic, err := age.GenerateX25519Identity()
	must(t, err)
	for name, form := range map[string][2]string{
		"garbage recipient": {"age1garbage", wrapsJSON(t, map[string]string{id(aliceID): wrapTo(t, gen1.String(), aliceKey.Recipient())})},
		"two recipients":    {gen1.Recipient().String() + "\n" + gen1.Recipient().String(), wrapsJSON(t, map[string]string{id(aliceID): wrapTo(t, gen1.String(), aliceKey.Recipient())})},
		"classic recipient": {classic.Recipient().String(), wrapsJSON(t, map[string]string{id(aliceID): wrapTo(t, classic.String(), aliceKey.Recipient())})},
		"wrap not age":      {gen1.Recipient().String(), wrapsJSON(t, map[string]string{id(aliceID): base64.StdEncoding.EncodeToString([]byte("not age"))})},
		"wraps not json":    {gen1.Recipient().String(), "{"},
		"no wraps":          {gen1.Recipient().String(), "{}"},
	} {
		if res, body := postKey(t, ts, admin, adminCSRF, ch, 0, form[0], form[1], ""); res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, res.StatusCode, body)
		}
	}
	if channelNow(t, ts, ch).Generation != 0 {
		t.Fatal("a refused key was stored")
	}
	// A member without a registered key cannot be given one.
	addMember(t, ts, admin, adminCSRF, ch, daveID)
	dk, err := age.GenerateX25519Identity()
	must(t, err)
	if res, body := postKey(t, ts, admin, adminCSRF, ch, 0, gen1.Recipient().String(), wrapsJSON(t, map[string]string{
		id(aliceID): wrapTo(t, gen1.String(), aliceKey.Recipient()), id(daveID): wrapTo(t, gen1.String(), dk.Recipient())}), ""); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrap to a member without a key: %d %s", res.StatusCode, body)
	}
	res, body := staffPost(t, admin, fmt.Sprintf("%s/staff/admin/channels/%d/members/remove", ts.URL, ch),
		url.Values{"csrf": {adminCSRF}, "staff": {id(daveID)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove dave: %d %s", res.StatusCode, body)
	}
	if res, _ := getJSON(t, dave, fmt.Sprintf("%s/staff/channels/%d/keys", ts.URL, ch)); res.StatusCode != http.StatusNotFound {
		t.Fatalf("dave's keys after removal: %d", res.StatusCode)
	}

	// The first key, by the administrator.
	if res, body := postKey(t, ts, admin, adminCSRF, ch, 0, gen1.Recipient().String(),
		wrapsJSON(t, map[string]string{id(aliceID): wrapTo(t, gen1.String(), aliceKey.Recipient())}), ""); res.StatusCode != http.StatusOK {
		t.Fatalf("first key: %d %s", res.StatusCode, body)
	}

	// A report to the channel before carol joins.
	if res, page := sendReport(t, ts, [][2]string{{"channel", id(ch)}, {"body", "EARLIER-REPORT before carol joined"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("earlier report: %d %s", res.StatusCode, page)
	}
	earlier, earlierCT := newestCase(t, ts)

	// (b) carol joins after the key exists: the page offers a grant; alice
	// grants generation 1; carol unwraps it.
	addMember(t, ts, admin, adminCSRF, ch, carolID)
	_, page := get(t, admin, fmt.Sprintf("%s/staff/admin/channels/%d", ts.URL, ch))
	if !strings.Contains(page, `class="channel-grant" data-staff="`+id(carolID)+`"`) || strings.Contains(page, `data-staff="`+id(aliceID)+`"`) ||
		strings.Contains(page, `id="channel-key-create"`) || !strings.Contains(page, `data-generation="1"`) {
		t.Fatalf("channel page does not offer exactly carol a grant: %s", page)
	}
	grantURL := fmt.Sprintf("%s/staff/channels/%d/grant", ts.URL, ch)
	grant := wrapsJSON(t, map[string]string{"1": wrapTo(t, gen1.String(), carolKey.Recipient())})
	// Only members grant; generations must exist.
	if res, _ := staffUpload(t, admin, grantURL, adminCSRF, [][2]string{{"staff", id(carolID)}, {"wraps", grant}}, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("grant by a non-member administrator: %d", res.StatusCode)
	}
	if res, _ := staffUpload(t, alice, grantURL, aliceCSRF, [][2]string{{"staff", id(carolID)},
		{"wraps", wrapsJSON(t, map[string]string{"2": wrapTo(t, gen1.String(), carolKey.Recipient())})}}, nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("grant of a generation that does not exist: %d", res.StatusCode)
	}
	if res, body := staffUpload(t, alice, grantURL, aliceCSRF, [][2]string{{"staff", id(carolID)}, {"wraps", grant}}, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("grant: %d %s", res.StatusCode, body)
	}
	carolGen1 := unwrap(t, ts, carol, ch, 1, carolKey)
	if carolGen1.String() != gen1.String() {
		t.Fatal("carol unwrapped another key")
	}
	// ... and reads the case that arrived before she joined, uploaded once.
	if earlier.ChannelGeneration != 1 || !strings.Contains(string(decryptAll(t, bytes.NewReader(earlierCT), carolGen1)), "EARLIER-REPORT") {
		t.Fatal("carol cannot read the channel's earlier case with the key she was granted")
	}

	// (c) Removing carol directly is refused now that there is a key.
	res, _ = staffPost(t, admin, fmt.Sprintf("%s/staff/admin/channels/%d/members/remove", ts.URL, ch),
		url.Values{"csrf": {adminCSRF}, "staff": {id(carolID)}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("direct removal with a key: %d", res.StatusCode)
	}
	gen2, err := age.GenerateHybridIdentity()
	must(t, err)
	onlyAlice := wrapsJSON(t, map[string]string{id(aliceID): wrapTo(t, gen2.String(), aliceKey.Recipient())})
	both := wrapsJSON(t, map[string]string{id(aliceID): wrapTo(t, gen2.String(), aliceKey.Recipient()),
		id(carolID): wrapTo(t, gen2.String(), carolKey.Recipient())})
	// Stale previous: 409.
	if res, body := postKey(t, ts, alice, aliceCSRF, ch, 0, gen2.Recipient().String(), onlyAlice, id(carolID)); res.StatusCode != http.StatusConflict {
		t.Fatalf("stale previous: %d %s", res.StatusCode, body)
	}
	// Wraps that still include the removed member, or miss one: refused.
	if res, body := postKey(t, ts, alice, aliceCSRF, ch, 1, gen2.Recipient().String(), both, id(carolID)); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("wraps to the removed member: %d %s", res.StatusCode, body)
	}
	if res, body := postKey(t, ts, alice, aliceCSRF, ch, 1, gen2.Recipient().String(), onlyAlice, ""); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("wraps missing a member: %d %s", res.StatusCode, body)
	}
	if c := channelNow(t, ts, ch); c.Generation != 1 || !c.IsMember(carolID) {
		t.Fatalf("a refused change changed the channel: generation %d, carol member %v", c.Generation, c.IsMember(carolID))
	}
	// The removal with a new generation, by a member.
	res, body = postKey(t, ts, alice, aliceCSRF, ch, 1, gen2.Recipient().String(), onlyAlice, id(carolID))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"generation":2`) {
		t.Fatalf("removal with a new generation: %d %s", res.StatusCode, body)
	}
	c := channelNow(t, ts, ch)
	if c.Generation != 2 || c.Recipient != gen2.Recipient().String() || c.IsMember(carolID) {
		t.Fatalf("after removal: generation %d, carol member %v", c.Generation, c.IsMember(carolID))
	}
	if w, err := ts.DB.ChannelKeyWraps(ctx, ch, carolID); err != nil || len(w) != 0 {
		t.Fatalf("carol's wraps after removal: %d, %v", len(w), err)
	}
	if res, _ := getJSON(t, carol, fmt.Sprintf("%s/staff/channels/%d/keys", ts.URL, ch)); res.StatusCode != http.StatusNotFound {
		t.Fatalf("carol's keys after removal: %d", res.StatusCode)
	}
	if got := unwrap(t, ts, alice, ch, 2, aliceKey); got.String() != gen2.String() {
		t.Fatal("alice does not hold generation 2")
	}
	// A report after the removal: alice reads it with generation 2; carol,
	// though she kept generation 1 and has the whole database, cannot.
	if res, page := sendReport(t, ts, [][2]string{{"channel", id(ch)}, {"body", "LATER-REPORT after carol left"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("later report: %d %s", res.StatusCode, page)
	}
	later, laterCT := newestCase(t, ts)
	if later.ChannelGeneration != 2 || !strings.Contains(string(decryptAll(t, bytes.NewReader(laterCT), gen2)), "LATER-REPORT") {
		t.Fatal("the later report is not encrypted to generation 2")
	}
	for name, key := range map[string]age.Identity{"carol's own key": carolKey, "generation 1, which carol kept": carolGen1} {
		if _, err := age.Decrypt(bytes.NewReader(laterCT), key); err == nil {
			t.Errorf("%s decrypts a report that arrived after carol left", name)
		}
	}
	entries, _, err := ts.DB.AuditPage(ctx, 0, 100)
	must(t, err)
	found := false
	for _, e := range entries {
		if e.Action == "channel.key.create" && strings.Contains(e.Detail, "generation 2") && strings.Contains(e.Detail, "carol") {
			found = true
		}
	}
	if !found {
		t.Error("the audit trail does not record the removal with generation 2")
	}
}

// TestChannelAdministrationNeedsAdministratorAndCSRF: (d) caseworkers
// reach no channel administration; (e) every channel POST checks the
// CSRF token and changes nothing without it.
func TestChannelAdministrationNeedsAdministratorAndCSRF(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	admin, adminCSRF := loggedIn(t, ts, "root", storage.RoleAdmin)
	ch := newChannel(t, ts, admin, adminCSRF, "Anything else")
	erin, erinCSRF := loggedIn(t, ts, "erin", storage.RoleCaseworker)
	erinID := staffID(t, ts, "erin")
	erinKey := ownKey(t, ts, erinID)
	base := fmt.Sprintf("%s/staff/admin/channels/%d", ts.URL, ch)
	for _, u := range []string{ts.URL + "/staff/admin/channels", base} {
		if res, _ := get(t, erin, u); res.StatusCode != http.StatusForbidden {
			t.Errorf("caseworker GET %s: %d", u, res.StatusCode)
		}
	}
	for _, u := range []string{ts.URL + "/staff/admin/channels/create", base + "/update", base + "/members/add", base + "/members/remove"} {
		res, _ := staffPost(t, erin, u, url.Values{"csrf": {erinCSRF}, "name_en": {"Mine"}, "staff": {strconv.FormatInt(erinID, 10)}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("caseworker POST %s: %d", u, res.StatusCode)
		}
	}
	// Not a member and not an administrator: the channel's keys do not exist.
	if res, _ := getJSON(t, erin, fmt.Sprintf("%s/staff/channels/%d/keys", ts.URL, ch)); res.StatusCode != http.StatusNotFound {
		t.Errorf("non-member keys: %d", res.StatusCode)
	}
	// The administrators' list links the channel and says it has no key.
	if _, page := get(t, admin, ts.URL+"/staff/admin/channels"); !strings.Contains(page, "Anything else") || !strings.Contains(page, "no key yet") ||
		!strings.Contains(page, `href="/staff/admin/channels"`) {
		t.Errorf("channels page: %s", page)
	}
	// Over-long texts and a missing English name are refused.
	if res, _ := staffPost(t, admin, ts.URL+"/staff/admin/channels/create", url.Values{"csrf": {adminCSRF}, "name_en": {strings.Repeat("x", 101)}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("long name: %d", res.StatusCode)
	}
	if res, _ := staffPost(t, admin, ts.URL+"/staff/admin/channels/create", url.Values{"csrf": {adminCSRF}, "name_pl": {"Tylko"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("no English name: %d", res.StatusCode)
	}

	before, err := ts.DB.Channels(context.Background())
	must(t, err)
	for _, csrf := range []string{"", "forged"} {
		for _, u := range []string{ts.URL + "/staff/admin/channels/create", base + "/update", base + "/members/add", base + "/members/remove"} {
			res, _ := staffPost(t, admin, u, url.Values{"csrf": {csrf}, "name_en": {"Forged"}, "archived": {"on"}, "staff": {strconv.FormatInt(erinID, 10)}})
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d", u, csrf, res.StatusCode)
			}
		}
	}
	addMember(t, ts, admin, adminCSRF, ch, erinID)
	k, err := age.GenerateHybridIdentity()
	must(t, err)
	wraps := wrapsJSON(t, map[string]string{strconv.FormatInt(erinID, 10): wrapTo(t, k.String(), erinKey.Recipient())})
	if res, _ := postKey(t, ts, admin, "forged", ch, 0, k.Recipient().String(), wraps, ""); res.StatusCode != http.StatusForbidden {
		t.Errorf("key with a forged csrf: %d", res.StatusCode)
	}
	if res, _ := staffUpload(t, erin, fmt.Sprintf("%s/staff/channels/%d/grant", ts.URL, ch), "forged",
		[][2]string{{"staff", strconv.FormatInt(erinID, 10)}, {"wraps", `{"1":"x"}`}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("grant with a forged csrf: %d", res.StatusCode)
	}
	after, err := ts.DB.Channels(context.Background())
	must(t, err)
	if len(after) != len(before) || after[len(after)-1].Generation != 0 || after[len(after)-1].Archived ||
		after[len(after)-1].Text("en").Name != "Anything else" {
		t.Errorf("a forged post changed the channels: %+v", after)
	}
}
