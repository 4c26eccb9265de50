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

	// A report, filed through the reporter's form, lands in channel A
	// (the default channel).
	submit(t, ts, "REPORT-PLAINTEXT-7d1e about channel A")
	_, inbox := get(t, alice, ts.URL+"/staff/")
	m := refRE.FindStringSubmatch(inbox)
	if m == nil || !strings.Contains(inbox, "<td>"+channelNow(t, ts, chA).Text("en").Name+"</td>") {
		t.Fatalf("alice's inbox lacks the case: %s", inbox)
	}
	ref := m[1]
	cs, err := ts.DB.CaseByRef(ctx, ref)
	must(t, err)
	if cs.ChannelID != chA {
		t.Fatalf("case in channel %d", cs.ChannelID)
	}
	_, casePage := get(t, alice, ts.URL+"/staff/case/"+ref)
	for _, want := range []string{fmt.Sprintf(`data-channel="%d"`, chA), `data-channel-generation="`, `data-channel-recipient="` + keyA.Recipient().String() + `"`} {
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
	res, ct := get(t, alice, fmt.Sprintf("%s/staff/case/%s/message/%d", ts.URL, ref, created.ID))
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
