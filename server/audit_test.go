package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/storage"
)

// auditEntries is the audit trail, newest first.
func auditEntries(t *testing.T, ts *testServer) []storage.AuditEntry {
	t.Helper()
	entries, _, err := ts.DB.AuditPage(context.Background(), 0, 1000)
	must(t, err)
	return entries
}

// TestEveryStaffChangeWritesOneAuditEntry walks through every
// state-changing staff route and checks that each writes exactly one
// audit entry, naming its action, and that a refused change writes none.
// TestNoStaffChangeOutlivesItsFailedAuditEntry checks that each route's
// entry and its change commit or roll back together.
func TestEveryStaffChangeWritesOneAuditEntry(t *testing.T) {
	ts := startServer(t, nil)
	submit(t, ts, "a report")
	secret := enrol(t, ts, "root", storage.RoleAdmin)
	ts.advance(30 * time.Second)
	c := client(t)
	var csrf string
	form := func(path string, v url.Values) func() *http.Response {
		return func() *http.Response {
			v.Set("csrf", csrf)
			res, _ := post(t, c, ts.URL+path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
			return res
		}
	}
	multipart := func(path string, parts [][2]string, file []byte) func() *http.Response {
		return func() *http.Response {
			res, _ := staffUpload(t, c, ts.URL+path, csrf, parts, file)
			return res
		}
	}
	var ref, uploadID, frankID string
	fakeAge := []byte("age-encryption.org/v1\n-> X25519 test\n--- mac\nciphertext")
	newKey, err := age.GenerateHybridIdentity()
	must(t, err)
	var keyID string

	steps := []struct {
		action string // "" for a refusal, which writes nothing
		status int
		do     func() *http.Response
	}{
		{"staff.login", http.StatusSeeOther, func() *http.Response {
			res, _ := staffLogin(t, ts, c, "root", goodPassword, ts.code(t, secret))
			_, page := get(t, c, ts.URL+"/staff/")
			csrf = csrfOf(t, page)
			ref = refRE.FindStringSubmatch(page)[1]
			return res
		}},
		{"case.open", http.StatusOK, func() *http.Response { res, _ := get(t, c, ts.URL+"/staff/case/"+ref); return res }},
		{"case.status", http.StatusSeeOther, func() *http.Response {
			return form("/staff/case/"+ref+"/status", url.Values{"status": {storage.StatusInReview}})()
		}},
		{"", http.StatusBadRequest, func() *http.Response {
			return form("/staff/case/"+ref+"/status", url.Values{"status": {"bogus"}})()
		}},
		{"case.assign", http.StatusSeeOther, func() *http.Response {
			return form("/staff/case/"+ref+"/assign", url.Values{"assignee": {"0"}})()
		}},
		{"case.acknowledge", http.StatusSeeOther, func() *http.Response {
			return form("/staff/case/"+ref+"/acknowledge", url.Values{})()
		}},
		{"", http.StatusBadRequest, func() *http.Response { // acknowledged already
			return form("/staff/case/"+ref+"/acknowledge", url.Values{})()
		}},
		{"case.extend", http.StatusSeeOther, func() *http.Response {
			return form("/staff/case/"+ref+"/extend", url.Values{"months": {"6"}, "reason": {"a second witness to trace"}})()
		}},
		{"", http.StatusBadRequest, func() *http.Response { // no reason
			return form("/staff/case/"+ref+"/extend", url.Values{"months": {"9"}})()
		}},
		{"case.retention", http.StatusSeeOther, func() *http.Response {
			return form("/staff/case/"+ref+"/retention", url.Values{"retention_days": {"30"}, "legal_hold": {"on"}})()
		}},
		{"", http.StatusBadRequest, func() *http.Response {
			return form("/staff/case/"+ref+"/retention", url.Values{"retention_days": {"-1"}, "legal_hold": {"on"}})()
		}},
		{"case.note", http.StatusOK, func() *http.Response {
			return multipart("/staff/case/"+ref+"/note", [][2]string{{"note", string(fakeAge)}}, nil)()
		}},
		{"attachment.upload", http.StatusOK, func() *http.Response {
			res, body := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/attachment", csrf, nil, fakeAge)
			var up struct{ ID int64 }
			json.Unmarshal([]byte(body), &up)
			uploadID = fmt.Sprint(up.ID)
			return res
		}},
		{"case.reply", http.StatusOK, func() *http.Response {
			return multipart("/staff/case/"+ref+"/reply", [][2]string{{"message", string(fakeAge)}, {"attachments", uploadID}}, nil)()
		}},
		{"", http.StatusBadRequest, func() *http.Response { // the attachment is used already
			return multipart("/staff/case/"+ref+"/reply", [][2]string{{"message", string(fakeAge)}, {"attachments", uploadID}}, nil)()
		}},
		{"staff.invited", http.StatusOK, func() *http.Response {
			res := form("/staff/admin/invite", url.Values{"username": {"frank"}, "role": {"caseworker"}})()
			st, err := ts.DB.StaffByUsername(context.Background(), "frank")
			must(t, err)
			frankID = fmt.Sprint(st.ID)
			return res
		}},
		{"", http.StatusConflict, func() *http.Response {
			return form("/staff/admin/invite", url.Values{"username": {"Frank"}, "role": {"caseworker"}})()
		}},
		{"staff.disable", http.StatusOK, func() *http.Response {
			return form("/staff/admin/account", url.Values{"id": {frankID}, "action": {"disable"}})()
		}},
		{"staff.enable", http.StatusOK, func() *http.Response {
			return form("/staff/admin/account", url.Values{"id": {frankID}, "action": {"enable"}})()
		}},
		{"staff.reset", http.StatusOK, func() *http.Response {
			return form("/staff/admin/account", url.Values{"id": {frankID}, "action": {"reset"}})()
		}},
		{"channel.deadlines", http.StatusSeeOther, func() *http.Response {
			return form("/staff/admin/channels/1/deadlines", url.Values{"ack_days": {"5"}, "feedback_months": {"6"}})()
		}},
		{"", http.StatusBadRequest, func() *http.Response {
			return form("/staff/admin/channels/1/deadlines", url.Values{"ack_days": {"0"}, "feedback_months": {"6"}})()
		}},
		{"retention.default", http.StatusOK, func() *http.Response {
			return form("/staff/admin/retention", url.Values{"retention_days": {"365"}})()
		}},
		{"recipient.add", http.StatusOK, func() *http.Response {
			res := form("/staff/admin/recipients/add", url.Values{"label": {"spare"}, "recipient": {newKey.Recipient().String()}})()
			added, err := ts.DB.OrgRecipients(context.Background())
			must(t, err)
			keyID = fmt.Sprint(added[0].ID)
			return res
		}},
		{"recipient.remove", http.StatusOK, func() *http.Response {
			return form("/staff/admin/recipients/remove", url.Values{"id": {keyID}})()
		}},
		{"staff.logout_everywhere", http.StatusSeeOther, form("/staff/logout-everywhere", url.Values{})},
		{"staff.login", http.StatusSeeOther, func() *http.Response {
			ts.advance(30 * time.Second)
			res, _ := staffLogin(t, ts, c, "root", goodPassword, ts.code(t, secret))
			_, page := get(t, c, ts.URL+"/staff/")
			csrf = csrfOf(t, page)
			return res
		}},
		{"staff.logout", http.StatusSeeOther, form("/staff/logout", url.Values{})},
	}
	for i, step := range steps {
		before := len(auditEntries(t, ts))
		res := step.do()
		if res.StatusCode != step.status {
			t.Fatalf("step %d (%s): status %d, want %d", i, step.action, res.StatusCode, step.status)
		}
		after := auditEntries(t, ts)
		want := before
		if step.action != "" {
			want++
		}
		if len(after) != want {
			t.Errorf("step %d (%s): %d entries written, want %d", i, step.action, len(after)-before, want-before)
			continue
		}
		if step.action != "" && after[0].Action != step.action {
			t.Errorf("step %d: newest entry %q, want %q", i, after[0].Action, step.action)
		}
	}
	if err := ts.DB.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// refuseAuditEntries makes every audit entry fail to be written, as a full
// disk or a broken trail would, until the returned function is called.
func refuseAuditEntries(t *testing.T, ts *testServer) (restore func()) {
	t.Helper()
	raw := rawDB(t, ts)
	create := []string{`CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'test'); END`}
	drop := `DROP TRIGGER test_refuse_audit`
	if ts.DSN != "" {
		create = []string{
			`CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test'; END $$`,
			`CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()`,
		}
		drop = `DROP TRIGGER test_refuse_audit ON audit_log`
	}
	for _, q := range create {
		_, err := raw.Exec(q)
		must(t, err)
	}
	return func() {
		t.Helper()
		_, err := raw.Exec(drop)
		must(t, err)
	}
}

// staffState is everything a staff change may change, as storage reports
// it.
type staffState struct {
	Cases      []storage.CaseSummary
	Retention  storage.Retention
	Messages   []storage.Message
	Notes      []storage.Note
	Staff      []storage.Staff
	Recipients []storage.OrgRecipient
	Default    int
	Rows       [4]int64
	Recovery   int
	Outcomes   []storage.Outcome
}

func stateOf(t *testing.T, ts *testServer, caseRef string, viewer storage.Staff) staffState {
	t.Helper()
	ctx := context.Background()
	var s staffState
	var err error
	s.Cases, _, err = ts.DB.ListCases(ctx, storage.CaseFilter{ViewerID: viewer.ID}, storage.Cursor{}, 100)
	must(t, err)
	cs, err := ts.DB.CaseByRef(ctx, caseRef)
	must(t, err)
	s.Retention, err = ts.DB.CaseRetention(ctx, cs.ID)
	must(t, err)
	s.Messages, err = ts.DB.Messages(ctx, cs.ID)
	must(t, err)
	s.Notes, err = ts.DB.Notes(ctx, cs.ID)
	must(t, err)
	s.Staff, err = ts.DB.ListStaff(ctx)
	must(t, err)
	s.Recipients, err = ts.DB.OrgRecipients(ctx)
	must(t, err)
	s.Default, err = ts.DB.DefaultRetentionDays(ctx)
	must(t, err)
	s.Rows = counts(t, ts.DB)
	s.Recovery, err = ts.DB.UnusedRecoveryCodes(ctx, viewer.ID)
	must(t, err)
	s.Outcomes, err = ts.DB.Outcomes(ctx, true)
	must(t, err)
	return s
}

// TestNoStaffChangeOutlivesItsFailedAuditEntry makes every audit entry
// fail to be written, then walks through every state-changing staff route:
// each must fail, and change nothing, since a change and its entry commit
// in one transaction (storage.DB.Change) or not at all.
func TestNoStaffChangeOutlivesItsFailedAuditEntry(t *testing.T) {
	ts := startServer(t, nil)
	ctx := context.Background()
	submit(t, ts, "a report")
	secret := enrol(t, ts, "root", storage.RoleAdmin)
	ts.advance(30 * time.Second)
	c := client(t)
	if res, _ := staffLogin(t, ts, c, "root", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", res.StatusCode)
	}
	_, inbox := get(t, c, ts.URL+"/staff/")
	csrf := csrfOf(t, inbox)
	ref := refRE.FindStringSubmatch(inbox)[1]
	root := mustStaff(t, ts, "root")
	form := func(path string, v url.Values) *http.Response {
		v.Set("csrf", csrf)
		res, _ := post(t, c, ts.URL+path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
		return res
	}
	fakeAge := []byte("age-encryption.org/v1\n-> X25519 test\n--- mac\nciphertext")

	// What the steps below change: an invited account, an upload, an
	// added key, an enrolment link.
	if res := form("/staff/admin/invite", url.Values{"username": {"frank"}, "role": {"caseworker"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("invite: %d", res.StatusCode)
	}
	frankID := fmt.Sprint(mustStaff(t, ts, "frank").ID)
	res, body := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/attachment", csrf, nil, fakeAge)
	var up struct{ ID int64 }
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &up) != nil {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	key1, err := age.GenerateHybridIdentity()
	must(t, err)
	key2, err := age.GenerateHybridIdentity()
	must(t, err)
	if res := form("/staff/admin/recipients/add", url.Values{"label": {"spare"}, "recipient": {key1.Recipient().String()}}); res.StatusCode != http.StatusOK {
		t.Fatalf("recipient: %d", res.StatusCode)
	}
	added, err := ts.DB.OrgRecipients(ctx)
	must(t, err)
	gina, err := ts.DB.CreateStaff(ctx, "gina", storage.RoleCaseworker)
	must(t, err)
	enrolToken, err := ts.DB.NewEnrolmentToken(ctx, gina.ID)
	must(t, err)
	_, enrolPage := get(t, client(t), ts.URL+"/staff/enrol/"+enrolToken)
	ginaSecret := secretRE.FindStringSubmatch(enrolPage)[1]
	ts.advance(30 * time.Second)

	restore := refuseAuditEntries(t, ts)
	defer restore()
	for _, step := range []struct {
		name string
		do   func() *http.Response
	}{
		{"GET /staff/case/:ref", func() *http.Response { res, _ := get(t, c, ts.URL+"/staff/case/"+ref); return res }},
		{"POST /staff/case/:ref/status", func() *http.Response {
			return form("/staff/case/"+ref+"/status", url.Values{"status": {storage.StatusInReview}})
		}},
		{"POST /staff/case/:ref/close", func() *http.Response {
			res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/close", csrf,
				[][2]string{{"outcome", "1"}, {"note", string(fakeAge)}}, nil)
			return res
		}},
		{"POST /staff/case/:ref/delete", func() *http.Response {
			return form("/staff/case/"+ref+"/delete", url.Values{"confirm": {ref}})
		}},
		{"POST /staff/admin/outcomes/add", func() *http.Response {
			return form("/staff/admin/outcomes/add", url.Values{"label": {"Resolved informally"}})
		}},
		{"POST /staff/admin/outcomes/:id (rename)", func() *http.Response {
			return form("/staff/admin/outcomes/2", url.Values{"action": {"rename"}, "label": {"Unsubstantiated"}})
		}},
		{"POST /staff/admin/outcomes/:id (archive)", func() *http.Response {
			return form("/staff/admin/outcomes/2", url.Values{"action": {"archive"}})
		}},
		{"POST /staff/admin/outcomes/:id (move)", func() *http.Response {
			return form("/staff/admin/outcomes/2", url.Values{"action": {"up"}})
		}},
		{"POST /staff/case/:ref/assign", func() *http.Response {
			return form("/staff/case/"+ref+"/assign", url.Values{"assignee": {fmt.Sprint(root.ID)}})
		}},
		{"POST /staff/case/:ref/retention", func() *http.Response {
			return form("/staff/case/"+ref+"/retention", url.Values{"retention_days": {"30"}, "legal_hold": {"on"}})
		}},
		{"POST /staff/case/:ref/note", func() *http.Response {
			res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/note", csrf, [][2]string{{"note", string(fakeAge)}}, nil)
			return res
		}},
		{"POST /staff/case/:ref/attachment", func() *http.Response {
			res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/attachment", csrf, nil, fakeAge)
			return res
		}},
		{"POST /staff/case/:ref/reply", func() *http.Response {
			res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/reply", csrf,
				[][2]string{{"message", string(fakeAge)}, {"attachments", fmt.Sprint(up.ID)}}, nil)
			return res
		}},
		{"POST /staff/admin/invite", func() *http.Response {
			return form("/staff/admin/invite", url.Values{"username": {"hank"}, "role": {"admin"}})
		}},
		{"POST /staff/admin/account (disable)", func() *http.Response {
			return form("/staff/admin/account", url.Values{"id": {frankID}, "action": {"disable"}})
		}},
		{"POST /staff/admin/account (reset)", func() *http.Response {
			return form("/staff/admin/account", url.Values{"id": {frankID}, "action": {"reset"}})
		}},
		{"POST /staff/admin/retention", func() *http.Response {
			return form("/staff/admin/retention", url.Values{"retention_days": {"30"}})
		}},
		{"POST /staff/admin/recipients/add", func() *http.Response {
			return form("/staff/admin/recipients/add", url.Values{"label": {"another"}, "recipient": {key2.Recipient().String()}})
		}},
		{"POST /staff/admin/recipients/remove", func() *http.Response {
			return form("/staff/admin/recipients/remove", url.Values{"id": {fmt.Sprint(added[0].ID)}})
		}},
		{"POST /staff/enrol/:token", func() *http.Response {
			res, _ := post(t, client(t), ts.URL+"/staff/enrol/"+enrolToken, strings.NewReader(url.Values{
				"secret": {ginaSecret}, "password": {goodPassword}, "password2": {goodPassword}, "totp": {ts.code(t, ginaSecret)},
			}.Encode()), "application/x-www-form-urlencoded")
			return res
		}},
		{"POST /staff/login", func() *http.Response {
			res, _ := staffLogin(t, ts, client(t), "root", goodPassword, ts.code(t, secret))
			return res
		}},
		{"POST /staff/logout-everywhere", func() *http.Response { return form("/staff/logout-everywhere", url.Values{}) }},
		{"POST /staff/logout", func() *http.Response { return form("/staff/logout", url.Values{}) }},
	} {
		t.Run(step.name, func(t *testing.T) {
			before := stateOf(t, ts, ref, root)
			if res := step.do(); res.StatusCode != http.StatusInternalServerError {
				t.Errorf("status %d without an audit entry, want 500", res.StatusCode)
			}
			if after := stateOf(t, ts, ref, root); !reflect.DeepEqual(after, before) {
				t.Errorf("changed without its audit entry:\nbefore %+v\nafter  %+v", before, after)
			}
			if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusOK {
				t.Errorf("the session ended: %d", res.StatusCode)
			}
		})
	}
	if res, _ := get(t, client(t), ts.URL+"/staff/enrol/"+enrolToken); res.StatusCode != http.StatusOK {
		t.Errorf("the enrolment link was used up: %d", res.StatusCode)
	}
}
