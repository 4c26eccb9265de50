package server_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// newestCase returns the case submitted since the last look (see
// newestMessage) and its first message's ciphertext.
func newestCase(t *testing.T, ts *testServer) (storage.Case, []byte) {
	t.Helper()
	ctx := context.Background()
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 1000)
	must(t, err)
	var found *storage.Case
	var first []byte
	for _, c := range cases {
		if ts.seen[c.ID] {
			continue
		}
		if found != nil {
			t.Fatal("more than one case submitted since the last look")
		}
		ts.seen[c.ID] = true
		cs, err := ts.DB.Case(ctx, c.ID)
		must(t, err)
		found = &cs
		msgs, err := ts.DB.Messages(ctx, c.ID)
		must(t, err)
		first = msgs[0].Ciphertext
	}
	if found == nil {
		t.Fatal("no new case")
	}
	return *found, first
}

// sendReport posts a report with the given fields (in order), then files.
func sendReport(t *testing.T, ts *testServer, fields [][2]string, files ...file) (*http.Response, string) {
	t.Helper()
	body, ctype := multipartBody(fields, files)
	return post(t, client(t), ts.URL+"/report", body, ctype)
}

func TestSingleChannelNeedsNoChoice(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	res, page := get(t, client(t), ts.URL+"/report")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `<textarea name="body"`) {
		t.Fatalf("GET /report with one channel: %d, no form", res.StatusCode)
	}
	if !strings.Contains(page, `<input type="hidden" name="channel" value="1">`) || !strings.Contains(page, "You are reporting to: Report misconduct") {
		t.Fatal("the form does not carry and name its channel")
	}
	if strings.Index(page, `name="channel"`) > strings.Index(page, `name="attachments"`) {
		t.Fatal("the channel field must come before the files")
	}
	// The form as a client without the field sends it: the one channel.
	submit(t, ts, "to the only channel", file{name: "a.txt", ctype: "text/plain", r: strings.NewReader("evidence")})
	cs, _ := newestCase(t, ts)
	if cs.ChannelID != storage.DefaultChannel || cs.ChannelGeneration != 0 {
		t.Fatalf("case in channel %d generation %d, want 1 and 0", cs.ChannelID, cs.ChannelGeneration)
	}
	// And with the field, as the form sends it.
	res, page = sendReport(t, ts, [][2]string{{"channel", "1"}, {"body", "named"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Your report was sent to: Report misconduct") {
		t.Fatalf("report with channel=1: %d", res.StatusCode)
	}
	if cs, _ := newestCase(t, ts); cs.ChannelID != 1 {
		t.Fatalf("case in channel %d", cs.ChannelID)
	}
}

func TestReporterChoosesAmongChannels(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	b, err := ts.DB.CreateChannel(ctx, map[string]storage.ChannelText{
		"en": {Name: `<b>Kent & "Co"</b>`, Description: "Officers of <i>Kent</i> Police"},
		"pl": {Name: "Policja hrabstwa Kent", Description: "Funkcjonariusze"},
	})
	must(t, err)
	bs := strconv.FormatInt(b, 10)

	res, page := get(t, client(t), ts.URL+"/report")
	if res.StatusCode != http.StatusOK || strings.Contains(page, `name="body"`) {
		t.Fatalf("with two channels GET /report showed the form (%d) before a choice", res.StatusCode)
	}
	for _, want := range []string{`href="/report?channel=1">Report misconduct</a>`, `href="/report?channel=` + bs + `">&lt;b&gt;Kent &amp; &#34;Co&#34;&lt;/b&gt;</a>`,
		"Officers of &lt;i&gt;Kent&lt;/i&gt; Police"} {
		if !strings.Contains(page, want) {
			t.Errorf("choice page lacks %s", want)
		}
	}
	if strings.Contains(page, "<b>Kent") || strings.Contains(page, "<i>Kent") {
		t.Fatal("a channel's text was rendered as HTML")
	}
	// In Polish: B's Polish name, the default channel's English one.
	_, page = get(t, client(t), ts.URL+"/report?lang=pl")
	if !strings.Contains(page, ">Policja hrabstwa Kent</a>") || !strings.Contains(page, ">Report misconduct</a>") {
		t.Fatal("the Polish choice page does not show Polish names with English fallback")
	}
	for _, bad := range []string{"999", "x", ""} {
		if _, page := get(t, client(t), ts.URL+"/report?channel="+bad); strings.Contains(page, `name="body"`) {
			t.Errorf("?channel=%s showed the form", bad)
		}
	}
	res, page = get(t, client(t), ts.URL+"/report?channel="+bs)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `<input type="hidden" name="channel" value="`+bs+`">`) ||
		!strings.Contains(page, "You are reporting to: &lt;b&gt;Kent") {
		t.Fatalf("the form for channel B: %d", res.StatusCode)
	}
	if !strings.Contains(page, `href="/report?channel=`+bs+`&amp;lang=pl"`) {
		t.Error("the language switcher leaves the channel's form")
	}

	res, page = sendReport(t, ts, [][2]string{{"channel", bs}, {"body", "about Kent"}}, file{name: "a.txt", ctype: "text/plain", r: strings.NewReader("evidence")})
	if res.StatusCode != http.StatusOK || !caseCodeRE.MatchString(page) {
		t.Fatalf("report to B: %d", res.StatusCode)
	}
	cs, msg := newestCase(t, ts)
	if cs.ChannelID != b {
		t.Fatalf("case in channel %d, want %d", cs.ChannelID, b)
	}
	if text, err := ts.open(msg); err != nil || text != "about Kent" {
		t.Fatalf("the organisation's key does not open it: %v", err)
	}
}

func TestReportToABadChannelIsRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	b, err := ts.DB.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "B"}})
	must(t, err)
	old, err := ts.DB.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Old"}})
	must(t, err)
	must(t, ts.DB.UpdateChannel(ctx, old, map[string]storage.ChannelText{"en": {Name: "Old"}}, true))
	if _, page := get(t, client(t), ts.URL+"/report"); strings.Contains(page, ">Old</a>") {
		t.Error("an archived channel is offered")
	}
	before := counts(t, ts.DB)
	evidence := file{name: "a.txt", ctype: "text/plain", r: strings.NewReader("evidence")}
	for name, fields := range map[string][][2]string{
		"unknown":  {{"channel", "999"}, {"body", "x"}},
		"archived": {{"channel", strconv.FormatInt(old, 10)}, {"body", "x"}},
		"garbage":  {{"channel", "1; DROP TABLE cases"}, {"body", "x"}},
		"missing":  {{"body", "x"}},
		"twice":    {{"channel", "1"}, {"channel", strconv.FormatInt(b, 10)}, {"body", "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			evidence.r = strings.NewReader("evidence")
			res, page := sendReport(t, ts, fields, evidence)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Nothing was saved") || !strings.Contains(page, `href="/report"`) {
				t.Fatalf("status %d: %s", res.StatusCode, page)
			}
			if got := counts(t, ts.DB); got != before {
				t.Fatalf("rows %v, want %v", got, before)
			}
		})
	}

	// A file before the channel field, with several channels: it cannot
	// be encrypted to a channel not yet known.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, err := mw.CreateFormFile("attachments", "first.txt")
	must(t, err)
	io.WriteString(w, "evidence")
	must(t, mw.WriteField("channel", "1"))
	must(t, mw.WriteField("body", "x"))
	must(t, mw.Close())
	res, page := post(t, client(t), ts.URL+"/report", &buf, mw.FormDataContentType())
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "before saying where the report should go") {
		t.Fatalf("file before channel: %d: %s", res.StatusCode, page)
	}
	if got := counts(t, ts.DB); got != before {
		t.Fatalf("rows %v, want %v", got, before)
	}

	// A channel key of the other kind than the organisation's (hybrid
	// here) cannot join them in one age file: the report is not stored
	// rather than hidden from the channel's team.
	classic, err := age.GenerateX25519Identity()
	must(t, err)
	_, err = ts.DB.AddChannelKey(ctx, b, 0, classic.Recipient().String(), map[int64][]byte{})
	must(t, err)
	if res, _ := sendReport(t, ts, [][2]string{{"channel", strconv.FormatInt(b, 10)}, {"body", "x"}}); res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("report to a channel with a key of the other kind: %d", res.StatusCode)
	}
	if got := counts(t, ts.DB); got != before {
		t.Fatalf("rows %v, want %v", got, before)
	}
}

// classicOrg makes the installation's keys classic X25519 ones, so that a
// channel key made with age.GenerateX25519Identity may join them.
func classicOrg(t *testing.T) (func(*server.Config), *age.X25519Identity) {
	org, err := age.GenerateX25519Identity()
	must(t, err)
	rs, err := crypto.ParseRecipientsString(org.Recipient().String())
	must(t, err)
	return func(c *server.Config) { c.Recipients = rs }, org
}

// addChannelKey gives a channel a first key generation, wrapped (as the
// console would) to each member's own key, and returns its identity.
func addChannelKey(t *testing.T, ts *testServer, channel int64, members map[int64]*age.X25519Identity) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	must(t, err)
	wraps := map[int64][]byte{}
	for staff, own := range members {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, own.Recipient())
		must(t, err)
		io.WriteString(w, id.String()+"\n")
		must(t, w.Close())
		wraps[staff] = buf.Bytes()
	}
	_, err = ts.DB.AddChannelKey(context.Background(), channel, 0, id.Recipient().String(), wraps)
	must(t, err)
	return id
}

func TestReportIsEncryptedToItsChannelsKey(t *testing.T) {
	t.Parallel()
	adjust, org := classicOrg(t)
	ts := startServer(t, adjust)
	ctx := context.Background()
	alice, err := ts.DB.CreateStaff(ctx, "alice", storage.RoleCaseworker)
	must(t, err)
	aliceKey, err := age.GenerateX25519Identity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(ctx, alice.ID, aliceKey.Recipient().String()))
	b, err := ts.DB.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "B"}})
	must(t, err)
	must(t, ts.DB.AddChannelMember(ctx, b, alice.ID))
	members := func(ch int64) map[int64]*age.X25519Identity {
		c, err := ts.DB.Channel(ctx, ch)
		must(t, err)
		m := map[int64]*age.X25519Identity{}
		for _, id := range c.Members {
			if id != alice.ID {
				t.Fatalf("unexpected member %d", id)
			}
			m[id] = aliceKey
		}
		return m
	}
	keyB := addChannelKey(t, ts, b, members(b))
	keyA := addChannelKey(t, ts, storage.DefaultChannel, members(storage.DefaultChannel))

	evidence := []byte("the chat export")
	res, receipt := sendReport(t, ts, [][2]string{{"channel", strconv.FormatInt(b, 10)}, {"body", "for team B only"}},
		file{name: "chat.txt", ctype: "text/plain", r: bytes.NewReader(evidence)})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report to B: %d", res.StatusCode)
	}
	code := caseCodeRE.FindStringSubmatch(receipt)
	cs, ct := newestCase(t, ts)
	if cs.ChannelID != b || cs.ChannelGeneration != 1 {
		t.Fatalf("case in channel %d generation %d, want %d and 1", cs.ChannelID, cs.ChannelGeneration, b)
	}
	// The channel's identity alone opens the message and its file.
	r, err := age.Decrypt(bytes.NewReader(ct), keyB)
	must(t, err)
	_, err = io.ReadAll(r)
	must(t, err)
	msg, err := crypto.OpenMessage(ct, keyB)
	must(t, err)
	if msg.Text != "for team B only" || len(msg.Attachments) != 1 {
		t.Fatalf("message = %+v", msg)
	}
	_, ar, err := ts.DB.Attachment(ctx, msg.Attachments[0].ID)
	must(t, err)
	if got := decryptAll(t, ar, keyB); !bytes.Equal(got, evidence) {
		t.Fatal("the attachment does not open with the channel's key")
	}
	// Another channel's identity opens neither; the recovery key still does.
	if _, err := age.Decrypt(bytes.NewReader(ct), keyA); err == nil {
		t.Fatal("another channel's key opened the report")
	}
	_, ar, err = ts.DB.Attachment(ctx, msg.Attachments[0].ID)
	must(t, err)
	if _, err := age.Decrypt(ar, keyA); err == nil {
		t.Fatal("another channel's key opened the attachment")
	}
	if _, err := crypto.OpenMessage(ct, org); err != nil {
		t.Fatalf("the organisation's key does not open it: %v", err)
	}
	// A member unwraps the channel's identity with their own key, as
	// stock age would.
	wraps, err := ts.DB.ChannelKeyWraps(ctx, b, alice.ID)
	must(t, err)
	ids, err := age.ParseIdentities(bytes.NewReader(decryptAll(t, bytes.NewReader(wraps[1]), aliceKey)))
	must(t, err)
	if _, err := crypto.OpenMessage(ct, ids[0]); err != nil {
		t.Fatalf("the unwrapped channel identity does not open it: %v", err)
	}

	// The reporter's follow-up message is for the channel's team too.
	c := login(t, ts, strings.TrimSpace(code[1]))
	_, page := get(t, c, ts.URL+"/case")
	body, ctype := multipartBody([][2]string{{"csrf", csrfOf(t, page)}, {"body", "more for team B"}}, nil)
	if res, _ := post(t, c, ts.URL+"/case/message", body, ctype); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("follow-up message: %d", res.StatusCode)
	}
	msgs, err := ts.DB.Messages(ctx, cs.ID)
	must(t, err)
	followUp, err := crypto.OpenMessage(msgs[len(msgs)-1].Ciphertext, keyB)
	if err != nil || followUp.Text != "more for team B" {
		t.Fatalf("the follow-up message does not open with the channel's key: %v %+v", err, followUp)
	}
	if _, err := crypto.OpenMessage(msgs[len(msgs)-1].Ciphertext, keyA); err == nil {
		t.Fatal("another channel's key opened the follow-up message")
	}
}
