package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

var refRE = regexp.MustCompile(`href="/staff/case/([0-9A-Z]{4}-[0-9A-Z]{4})"`)

// staffUpload posts a multipart form with the CSRF token first.
func staffUpload(t *testing.T, c *http.Client, u, csrf string, parts [][2]string, file []byte) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", csrf)
	for _, p := range parts {
		mw.WriteField(p[0], p[1])
	}
	if file != nil {
		w, _ := mw.CreateFormFile("file", "blob.age")
		w.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, u, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	return do(t, c, req)
}

func TestCaseworkerRepliesAndReporterReadsIt(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	const reportText = "REPORT-PLAINTEXT-3b9c: PC X posted slurs"
	code := submit(t, ts, reportText)
	c, csrf := loggedIn(t, ts, "hana", storage.RoleCaseworker)

	// The inbox lists the case as unread; the case page carries no plaintext.
	_, inbox := get(t, c, ts.URL+"/staff/")
	m := refRE.FindStringSubmatch(inbox)
	if m == nil || !strings.Contains(inbox, "new messages") {
		t.Fatalf("inbox does not list the new case as unread: %s", inbox)
	}
	ref := m[1]
	res, page := get(t, c, ts.URL+"/staff/case/"+ref)
	if res.StatusCode != http.StatusOK || strings.Contains(page, "REPORT-PLAINTEXT") {
		t.Fatalf("case page: %d, holds plaintext: %v", res.StatusCode, strings.Contains(page, "REPORT-PLAINTEXT"))
	}
	if _, inbox = get(t, c, ts.URL+"/staff/"); strings.Contains(inbox, "new messages") {
		t.Error("the case is still unread after it was opened")
	}

	// The message arrives as ciphertext that the organisation's key opens.
	first, err := ts.DB.CaseByRef(context.Background(), ref)
	must(t, err)
	firstMsgs, err := ts.DB.Messages(context.Background(), first.ID)
	must(t, err)
	res, ct := get(t, c, ts.URL+"/staff/case/"+ref+"/message/"+strconv.FormatInt(firstMsgs[0].ID, 10))
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "age-encryption.org/v1\n") {
		t.Fatalf("message ciphertext: %d", res.StatusCode)
	}
	msg, err := crypto.OpenMessage([]byte(ct), ts.OrgKey)
	must(t, err)
	if msg.Text != reportText {
		t.Fatalf("decrypted %q", msg.Text)
	}

	// Encrypt a reply and a file as the browser will: to org + case.
	cs, err := ts.DB.CaseByRef(context.Background(), ref)
	must(t, err)
	rs, err := crypto.ParseRecipientsString(ts.OrgKey.Recipient().String())
	must(t, err)
	recipients, err := rs.ForCase(cs.Recipient)
	must(t, err)
	var file bytes.Buffer
	w, _ := age.Encrypt(&file, recipients...)
	w.Write([]byte("guidance.pdf bytes"))
	w.Close()

	// Uploads without a valid CSRF token, or of something not age, fail.
	if res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/attachment", "forged", nil, file.Bytes()); res.StatusCode != http.StatusForbidden {
		t.Fatalf("upload with a forged token: %d", res.StatusCode)
	}
	if res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/attachment", csrf, nil, []byte("plain text")); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("upload of plaintext: %d", res.StatusCode)
	}
	res, body := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/attachment", csrf, nil, file.Bytes())
	var up struct{ ID int64 }
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &up) != nil || up.ID == 0 {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	sealed, err := crypto.SealMessage(crypto.Message{Text: "Thank you. Can you tell us which chat group?",
		Attachments: []crypto.Attachment{{ID: up.ID, Name: "guidance.pdf", Type: "application/pdf", Size: 18}}}, recipients)
	must(t, err)
	res, body = staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/reply", csrf,
		[][2]string{{"message", string(sealed)}, {"attachments", strconv.FormatInt(up.ID, 10)}}, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("reply: %d %s", res.StatusCode, body)
	}
	// A reply cannot reuse an attachment already linked.
	if res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/reply", csrf,
		[][2]string{{"message", string(sealed)}, {"attachments", strconv.FormatInt(up.ID, 10)}}, nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("reply reusing an attachment: %d", res.StatusCode)
	}

	// Workflow: status and assignment.
	form := url.Values{"csrf": {csrf}, "status": {storage.StatusAwaitingReporter}}.Encode()
	if res, _ := post(t, c, ts.URL+"/staff/case/"+ref+"/status", strings.NewReader(form), "application/x-www-form-urlencoded"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("status: %d", res.StatusCode)
	}
	me, _ := ts.DB.StaffByUsername(context.Background(), "hana")
	form = url.Values{"csrf": {csrf}, "assignee": {strconv.FormatInt(me.ID, 10)}}.Encode()
	if res, _ := post(t, c, ts.URL+"/staff/case/"+ref+"/assign", strings.NewReader(form), "application/x-www-form-urlencoded"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d", res.StatusCode)
	}
	if _, mine := get(t, c, ts.URL+"/staff/?assigned=me"); !strings.Contains(mine, ref) {
		t.Error("the assigned case is not in the 'assigned to me' inbox")
	}
	if _, none := get(t, c, ts.URL+"/staff/?assigned=none"); strings.Contains(none, ref) {
		t.Error("the assigned case is in the 'assigned to no one' inbox")
	}

	// The reporter reads the reply and its file, and sees the status, not the assignee.
	rc := login(t, ts, code)
	_, casePage := get(t, rc, ts.URL+"/case")
	for _, want := range []string{"Can you tell us which chat group?", "guidance.pdf", "Waiting for you"} {
		if !strings.Contains(casePage, want) {
			t.Errorf("reporter's page lacks %q", want)
		}
	}
	if strings.Contains(casePage, "hana") {
		t.Error("the reporter sees who the case is assigned to")
	}
	if res, got := get(t, rc, ts.URL+"/case/attachment/"+strconv.FormatInt(up.ID, 10)); res.StatusCode != http.StatusOK || got != "guidance.pdf bytes" {
		t.Fatalf("reporter download of the reply's file: %d %q", res.StatusCode, got)
	}

	// Everything was audited, and the chain holds.
	entries, _, err := ts.DB.AuditPage(context.Background(), 0, 100)
	must(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"case.open", "attachment.upload", "case.reply", "case.status", "case.assign"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit trail lacks %s", want)
		}
	}
	must(t, ts.DB.VerifyAudit(context.Background()))
}

func TestInternalNotesAreNeverShownToTheReporter(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	code := submit(t, ts, "a report")
	c, csrf := loggedIn(t, ts, "ivan", storage.RoleCaseworker)
	_, inbox := get(t, c, ts.URL+"/staff/")
	ref := refRE.FindStringSubmatch(inbox)[1]
	rs, err := crypto.ParseRecipientsString(ts.OrgKey.Recipient().String())
	must(t, err)
	note, err := crypto.SealMessage(crypto.Message{Text: "NOTE-7731: credible, check rota"}, rs.Organisation())
	must(t, err)

	if res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/note", csrf, [][2]string{{"note", "not age"}}, nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a plaintext note was accepted: %d", res.StatusCode)
	}
	res, body := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/note", csrf, [][2]string{{"note", string(note)}}, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("note: %d %s", res.StatusCode, body)
	}
	_, page := get(t, c, ts.URL+"/staff/case/"+ref)
	if !strings.Contains(page, "/note/1") || strings.Contains(page, "NOTE-7731") {
		t.Fatal("the case page does not list the note as ciphertext")
	}
	_, ct := get(t, c, ts.URL+"/staff/case/"+ref+"/note/1")
	if m, err := crypto.OpenMessage([]byte(ct), ts.OrgKey); err != nil || m.Text != "NOTE-7731: credible, check rota" {
		t.Fatalf("note ciphertext: %v", err)
	}
	rc := login(t, ts, code)
	_, casePage := get(t, rc, ts.URL+"/case")
	if strings.Contains(casePage, "NOTE-7731") || strings.Contains(casePage, "could not be opened") {
		t.Fatal("the reporter's page shows the internal note")
	}
}

func TestAReplyCannotTakeAnotherCasesUpload(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	submit(t, ts, "case one")
	submit(t, ts, "case two")
	c, csrf := loggedIn(t, ts, "nora", storage.RoleCaseworker)
	_, inbox := get(t, c, ts.URL+"/staff/")
	refs := refRE.FindAllStringSubmatch(inbox, -1)
	if len(refs) != 2 {
		t.Fatalf("want two cases, have %d", len(refs))
	}
	a, b := refs[0][1], refs[1][1]
	res, body := staffUpload(t, c, ts.URL+"/staff/case/"+a+"/attachment", csrf, nil, []byte("age-encryption.org/v1\nfake"))
	var up struct{ ID int64 }
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &up) != nil {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	res, _ = staffUpload(t, c, ts.URL+"/staff/case/"+b+"/reply", csrf,
		[][2]string{{"message", "age-encryption.org/v1\nx"}, {"attachments", strconv.FormatInt(up.ID, 10)}}, nil)
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a reply on case %s linked an upload made for case %s: %d", b, a, res.StatusCode)
	}
}
