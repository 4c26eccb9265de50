package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
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

// identityDetails is the plaintext of an identity age file.
type identityDetails struct {
	V       int    `json:"v"`
	Name    string `json:"name"`
	Contact string `json:"contact"`
	Role    string `json:"role"`
}

func openDetails(t *testing.T, b []byte, id age.Identity) identityDetails {
	t.Helper()
	var d identityDetails
	must(t, json.Unmarshal(decryptAll(t, bytes.NewReader(b), id), &d))
	return d
}

func canOpen(b []byte, id age.Identity) bool {
	r, err := age.Decrypt(bytes.NewReader(b), id)
	if err != nil {
		return false
	}
	_, err = io.ReadAll(r)
	return err == nil
}

// TestConfidentialIdentity: invisible to caseworkers, visible to the
// custodian, granted to one caseworker, and the reporter sees that it was
// opened; then the reporter withdraws it.
func TestConfidentialIdentity(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	admin, adminCSRF := loggedIn(t, ts, "root", storage.RoleAdmin)
	keeper, keeperCSRF := loggedIn(t, ts, "keeper", storage.RoleCaseworker)
	alice, aliceCSRF := loggedIn(t, ts, "alice", storage.RoleCaseworker)
	bob, _ := loggedIn(t, ts, "bob", storage.RoleCaseworker)
	keeperID, aliceID, bobID := staffID(t, ts, "keeper"), staffID(t, ts, "alice"), staffID(t, ts, "bob")
	// The organisation's keys are post-quantum: so must the custodian's
	// be, to be encrypted to with them in mind. Alice's may be of any kind
	// (her grant is a file of its own).
	keeperKey, err := age.GenerateHybridIdentity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(ctx, keeperID, keeperKey.Recipient().String()))
	aliceKey, bobKey := ownKey(t, ts, aliceID), ownKey(t, ts, bobID)
	// Owen is a custodian too, but excluded from the channel: he gets
	// nothing of its cases.
	owen, _ := loggedIn(t, ts, "owen", storage.RoleCaseworker)
	owenID := staffID(t, ts, "owen")
	owenKey, err := age.GenerateHybridIdentity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(ctx, owenID, owenKey.Recipient().String()))
	must(t, ts.DB.SetStaffCustodian(ctx, owenID, true))
	must(t, ts.DB.RemoveChannelMember(ctx, storage.DefaultChannel, owenID))
	must(t, ts.DB.ExcludeFromChannel(ctx, storage.DefaultChannel, owenID, "served in that force"))

	const name, contact, role = "Sgt Jane IDENT-9f3e Doe", "jane-IDENT-9f3e@example.org", "Custody sergeant"
	identityReport := [][2]string{{"channel", "1"}, {"id_name", name}, {"id_contact", contact}, {"id_role", role}, {"body", "REPORT-PLAINTEXT about custody"}}

	// Not offered yet: no section, and identity fields are refused with
	// nothing stored.
	if _, page := get(t, client(t), ts.URL+"/report"); strings.Contains(page, `name="id_name"`) {
		t.Fatal("the form offers the identity section before the channel does")
	}
	before := counts(t, ts.DB)
	if res, page := sendReport(t, ts, identityReport); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "does not take identity details") {
		t.Fatalf("identity to a channel that does not offer it: %d %s", res.StatusCode, page)
	}
	if after := counts(t, ts.DB); after != before {
		t.Fatalf("a refused identity left rows: %v → %v", before, after)
	}

	// The administrator offers it and makes keeper a custodian (audited).
	if res, body := staffPost(t, admin, ts.URL+"/staff/admin/channels/1/identity", url.Values{"csrf": {adminCSRF}, "offer": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("offer identity: %d %s", res.StatusCode, body)
	}
	if _, page := get(t, client(t), ts.URL+"/report"); strings.Contains(page, `name="id_name"`) {
		t.Fatal("the form offers the identity section with no custodian to receive it")
	}
	if res, body := staffPost(t, admin, ts.URL+"/staff/admin/custodian", url.Values{"csrf": {adminCSRF}, "id": {strconv.FormatInt(keeperID, 10)}, "custodian": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("make custodian: %d %s", res.StatusCode, body)
	}
	if res, _ := staffPost(t, alice, ts.URL+"/staff/admin/custodian", url.Values{"csrf": {aliceCSRF}, "id": {strconv.FormatInt(aliceID, 10)}, "custodian": {"on"}}); res.StatusCode == http.StatusSeeOther {
		t.Fatal("a caseworker made themselves a custodian")
	}
	_, page := get(t, client(t), ts.URL+"/report")
	if !strings.Contains(page, `name="id_name"`) || strings.Index(page, `name="id_name"`) > strings.Index(page, `name="attachments"`) {
		t.Fatal("the form does not offer the identity section before the files")
	}

	// The report: its identity block opens only with the custodian's key.
	res, page := sendReport(t, ts, identityReport)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report with identity: %d %s", res.StatusCode, page)
	}
	code := strings.TrimSpace(caseCodeRE.FindStringSubmatch(page)[1])
	cs := caseOfCode(t, ts, code)
	block, err := ts.DB.CaseIdentity(ctx, cs.ID)
	must(t, err)
	if !bytes.HasPrefix(block.Ciphertext, []byte("age-encryption.org/v1\n")) || bytes.Contains(block.Ciphertext, []byte("IDENT-9f3e")) {
		t.Fatal("the identity block is not an age file, or holds the plaintext")
	}
	if d := openDetails(t, block.Ciphertext, keeperKey); d != (identityDetails{V: 1, Name: name, Contact: contact, Role: role}) {
		t.Fatalf("custodian opens %+v", d)
	}
	for who, id := range map[string]age.Identity{"the organisation's key": ts.OrgKey, "alice's key": aliceKey, "the excluded custodian's key": owenKey} {
		if canOpen(block.Ciphertext, id) {
			t.Fatalf("%s opens the identity block", who)
		}
	}
	if m := firstMessage(t, ts, code); strings.Contains(m.Text, "IDENT-9f3e") {
		t.Fatal("the identity is in the report's message")
	}
	reporter := login(t, ts, code)
	if _, page := get(t, reporter, ts.URL+"/case"); !strings.Contains(page, "You gave us your identity details.") || !strings.Contains(page, "They have not been opened.") {
		t.Fatalf("reporter's page before opening: %s", page)
	}

	// Alice sees that there are details, not what they are; she gets no
	// ciphertext.
	caseURL := ts.URL + "/staff/case/" + cs.Ref
	_, page = get(t, alice, caseURL)
	if !strings.Contains(page, "This reporter gave identity details, readable only by custodians") || strings.Contains(page, "IDENT-9f3e") {
		t.Fatalf("alice's case page: %s", page)
	}
	for _, u := range []string{caseURL + "/identity", ts.URL + "/staff/identity/case/" + cs.Ref, ts.URL + "/staff/identity"} {
		if res, _ := get(t, alice, u); res.StatusCode != http.StatusNotFound {
			t.Fatalf("alice GET %s: %d", u, res.StatusCode)
		}
	}
	if res, _ := get(t, owen, ts.URL+"/staff/identity/case/"+cs.Ref); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the excluded custodian fetched the block: %d", res.StatusCode)
	}
	if _, page := get(t, owen, ts.URL+"/staff/identity"); strings.Contains(page, cs.Ref) {
		t.Fatal("the excluded custodian's page lists the case")
	}
	if res, _ := staffPost(t, alice, caseURL+"/identity/request", url.Values{"csrf": {"forged"}, "reason": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("request with a forged token: %d", res.StatusCode)
	}
	if res, body := staffPost(t, alice, caseURL+"/identity/request", url.Values{"csrf": {aliceCSRF}, "reason": {"To take a witness statement"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("request: %d %s", res.StatusCode, body)
	}
	if _, page := get(t, alice, caseURL); !strings.Contains(page, "a custodian has not decided yet") {
		t.Fatal("alice's page does not say her request is pending")
	}
	reqs, err := ts.DB.IdentityRequests(ctx, storage.IdentityRequested, cs.ID)
	must(t, err)
	if len(reqs) != 1 {
		t.Fatalf("%d pending requests", len(reqs))
	}

	// The custodian's page lists it; the custodian opens the block (the
	// reporter is told the day) and, as a browser would, re-encrypts it to
	// alice's key.
	_, page = get(t, keeper, ts.URL+"/staff/identity")
	if !strings.Contains(page, "To take a witness statement") || !strings.Contains(page, `class="identity-approve" data-request="`+strconv.FormatInt(reqs[0].ID, 10)+`"`) {
		t.Fatalf("custodian's page: %s", page)
	}
	res, served := get(t, keeper, ts.URL+"/staff/identity/case/"+cs.Ref)
	if res.StatusCode != http.StatusOK || served != string(block.Ciphertext) {
		t.Fatalf("custodian fetch: %d", res.StatusCode)
	}
	plain := decryptAll(t, strings.NewReader(served), keeperKey)
	var grant bytes.Buffer
	w, err := age.Encrypt(&grant, aliceKey.Recipient())
	must(t, err)
	_, err = w.Write(plain)
	must(t, err)
	must(t, w.Close())
	approve := fmt.Sprintf("%s/staff/identity/request/%d/approve", ts.URL, reqs[0].ID)
	if res, _ := staffUpload(t, alice, approve, aliceCSRF, [][2]string{{"grant", base64.StdEncoding.EncodeToString(grant.Bytes())}}, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("alice approving her own request: %d", res.StatusCode)
	}
	if res, body := staffUpload(t, keeper, approve, keeperCSRF, [][2]string{{"grant", base64.StdEncoding.EncodeToString(grant.Bytes())}}, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("approve: %d %s", res.StatusCode, body)
	}
	if res, _ := staffUpload(t, keeper, approve, keeperCSRF, [][2]string{{"grant", base64.StdEncoding.EncodeToString(grant.Bytes())}}, nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("approving twice: %d", res.StatusCode)
	}

	// Alice, and only alice, fetches her grant and opens it with her key.
	_, page = get(t, alice, caseURL)
	if !strings.Contains(page, `id="identity-decrypt"`) {
		t.Fatal("alice's page has no Decrypt button after the grant")
	}
	res, mine := get(t, alice, caseURL+"/identity")
	if res.StatusCode != http.StatusOK || openDetails(t, []byte(mine), aliceKey).Name != name {
		t.Fatalf("alice's grant: %d", res.StatusCode)
	}
	if res, _ := get(t, bob, caseURL+"/identity"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("bob fetched alice's grant: %d", res.StatusCode)
	}
	if canOpen([]byte(mine), bobKey) {
		t.Fatal("bob's key opens alice's grant")
	}

	// The reporter sees it was opened, to the day.
	day := ts.now().UTC().Format("2 January 2006")
	if _, page := get(t, reporter, ts.URL+"/case"); !strings.Contains(page, "They were first opened on "+day+".") {
		t.Fatalf("reporter's page after opening (want %s): %s", day, page)
	}

	// Everything is in the audit trail, and no identifying content.
	var actions []string
	for _, e := range auditEntries(t, ts) {
		if strings.Contains(e.Detail, "IDENT-9f3e") || strings.Contains(e.Target, "IDENT-9f3e") {
			t.Fatalf("the audit trail holds the identity: %+v", e)
		}
		if strings.HasPrefix(e.Action, "identity.") || e.Action == "staff.custodian" || e.Action == "channel.identity" {
			actions = append(actions, e.Action+":"+e.Actor)
		}
	}
	// (newest first)
	want := []string{"identity.open:alice", "identity.approve:keeper", "identity.open:keeper", "identity.request:alice", "staff.custodian:root", "channel.identity:root"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}

	// A recused caseworker gets nothing, grant or not.
	if res, _ := staffPost(t, alice, caseURL+"/recuse", url.Values{"csrf": {aliceCSRF}, "reason": {"I know the reporter"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("recuse: %d", res.StatusCode)
	}
	if res, _ := get(t, alice, caseURL+"/identity"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("recused alice fetched her grant: %d", res.StatusCode)
	}

	// Dana becomes a custodian after the report: the block is not encrypted
	// to her. Keeper's browser gives her a copy, which only she fetches.
	dana, _ := loggedIn(t, ts, "dana", storage.RoleCaseworker)
	danaID := staffID(t, ts, "dana")
	danaKey, err := age.GenerateHybridIdentity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(ctx, danaID, danaKey.Recipient().String()))
	must(t, ts.DB.SetStaffCustodian(ctx, danaID, true))
	if canOpen(block.Ciphertext, danaKey) {
		t.Fatal("a custodian made after the report opens its block")
	}
	copyURL := ts.URL + "/staff/identity/case/" + cs.Ref + "/copy"
	if res, _ := get(t, dana, copyURL); res.StatusCode != http.StatusNotFound {
		t.Fatalf("dana's copy before it was made: %d", res.StatusCode)
	}
	if _, page := get(t, keeper, ts.URL+"/staff/identity"); !strings.Contains(page, `data-recipient="`+danaKey.Recipient().String()+`"`) {
		t.Fatal("keeper's page does not offer dana a copy")
	}
	var danaCopy bytes.Buffer
	w, err = age.Encrypt(&danaCopy, danaKey.Recipient())
	must(t, err)
	_, err = w.Write(plain)
	must(t, err)
	must(t, w.Close())
	copyForm := [][2]string{{"staff", strconv.FormatInt(danaID, 10)}, {"grant", base64.StdEncoding.EncodeToString(danaCopy.Bytes())}}
	if res, _ := staffUpload(t, alice, copyURL, aliceCSRF, copyForm, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a caseworker giving a copy: %d", res.StatusCode)
	}
	if res, body := staffUpload(t, keeper, copyURL, keeperCSRF, [][2]string{{"staff", strconv.FormatInt(aliceID, 10)}, copyForm[1]}, nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a copy for a caseworker through the custodians' route: %d %s", res.StatusCode, body)
	}
	if res, body := staffUpload(t, keeper, copyURL, keeperCSRF, copyForm, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("copy for dana: %d %s", res.StatusCode, body)
	}
	res, got := get(t, dana, copyURL)
	if res.StatusCode != http.StatusOK || openDetails(t, []byte(got), danaKey).Contact != contact {
		t.Fatalf("dana's copy: %d", res.StatusCode)
	}
	if res, _ := get(t, keeper, copyURL); res.StatusCode != http.StatusNotFound {
		t.Fatalf("keeper fetched dana's copy: %d", res.StatusCode)
	}

	// The reporter withdraws the details: the block, grants and requests go.
	_, page = get(t, reporter, ts.URL+"/case/identity/withdraw")
	rcsrf := csrfOf(t, page)
	res, _ = post(t, reporter, ts.URL+"/case/identity/withdraw", strings.NewReader(url.Values{"csrf": {rcsrf}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("withdrawal without the box ticked: %d", res.StatusCode)
	}
	res, _ = post(t, reporter, ts.URL+"/case/identity/withdraw", strings.NewReader(url.Values{"csrf": {rcsrf}, "confirm": {"yes"}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdrawal: %d", res.StatusCode)
	}
	if _, page := get(t, reporter, ts.URL+res.Header.Get("Location")); !strings.Contains(page, "Your identity details were withdrawn and deleted.") {
		t.Fatalf("reporter's page after withdrawal: %s", page)
	}
	if _, err := ts.DB.CaseIdentity(ctx, cs.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("identity block after withdrawal: %v", err)
	}
	for _, id := range []int64{aliceID, danaID} {
		if _, err := ts.DB.IdentityGrant(ctx, cs.ID, id); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("grant after withdrawal: %v", err)
		}
	}
	if reqs, _ := ts.DB.IdentityRequests(ctx, "", cs.ID); len(reqs) != 0 {
		t.Fatalf("%d requests after withdrawal", len(reqs))
	}
	if res, _ := get(t, keeper, ts.URL+"/staff/identity/case/"+cs.Ref); res.StatusCode != http.StatusNotFound {
		t.Fatalf("custodian fetch after withdrawal: %d", res.StatusCode)
	}
	if _, err := ts.DB.Case(ctx, cs.ID); err != nil {
		t.Fatalf("the case went with its identity: %v", err)
	}
}

// TestIdentityFieldsAfterAFileAreRefused: the form puts them before the
// files; a submission that does not is refused with nothing stored.
func TestIdentityFieldsAfterAFileAreRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	admin, adminCSRF := loggedIn(t, ts, "root", storage.RoleAdmin)
	rootKey, err := age.GenerateHybridIdentity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(ctx, staffID(t, ts, "root"), rootKey.Recipient().String()))
	staffPost(t, admin, ts.URL+"/staff/admin/channels/1/identity", url.Values{"csrf": {adminCSRF}, "offer": {"on"}})
	staffPost(t, admin, ts.URL+"/staff/admin/custodian", url.Values{"csrf": {adminCSRF}, "id": {strconv.FormatInt(staffID(t, ts, "root"), 10)}, "custodian": {"on"}})
	before := counts(t, ts.DB)
	// multipartBody writes fields before files: this order is by hand.
	raw := "--B\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\n1\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nevidence\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"id_name\"\r\n\r\nLate Name\r\n--B--\r\n"
	res, page := post(t, client(t), ts.URL+"/report", strings.NewReader(raw), "multipart/form-data; boundary=B")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "after a file") {
		t.Fatalf("identity after a file: %d %s", res.StatusCode, page)
	}
	if after := counts(t, ts.DB); after != before {
		t.Fatalf("a refused report left rows: %v → %v", before, after)
	}
}

// TestIdentityIsKeptOnAFormShownAgain: a report refused for a wrong answer
// shows the form again with the identity details as typed (escaped), and
// stores nothing.
func TestIdentityIsKeptOnAFormShownAgain(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	admin, adminCSRF := loggedIn(t, ts, "root", storage.RoleAdmin)
	rootID := staffID(t, ts, "root")
	rootKey, err := age.GenerateHybridIdentity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(ctx, rootID, rootKey.Recipient().String()))
	staffPost(t, admin, ts.URL+"/staff/admin/channels/1/identity", url.Values{"csrf": {adminCSRF}, "offer": {"on"}})
	staffPost(t, admin, ts.URL+"/staff/admin/custodian", url.Values{"csrf": {adminCSRF}, "id": {strconv.FormatInt(rootID, 10)}, "custodian": {"on"}})
	before := counts(t, ts.DB)
	res, page := sendReport(t, ts, [][2]string{{"channel", "1"}, {"id_name", "Jo <b>Kept</b>"}, {"id_contact", "kept-contact"}, {"id_role", "kept-role"},
		{"q_platform", "MySpace"}, {"body", "text"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a wrong answer: %d", res.StatusCode)
	}
	for _, want := range []string{`value="Jo &lt;b&gt;Kept&lt;/b&gt;"`, "kept-contact</textarea>", `value="kept-role"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("the form shown again lacks %s: %s", want, page)
		}
	}
	if after := counts(t, ts.DB); after != before {
		t.Fatalf("a refused report left rows: %v → %v", before, after)
	}
}

// TestACustodianKeyOfTheOtherKindGetsNothing: age cannot mix post-quantum
// and classic recipients in one file, so a custodian whose own key is not
// of the organisation's kind receives no identity details; with no other
// custodian the form does not offer the section, and their page says why.
func TestACustodianKeyOfTheOtherKindGetsNothing(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil) // post-quantum organisation keys
	admin, adminCSRF := loggedIn(t, ts, "root", storage.RoleAdmin)
	rootID := staffID(t, ts, "root")
	ownKey(t, ts, rootID) // X25519
	staffPost(t, admin, ts.URL+"/staff/admin/channels/1/identity", url.Values{"csrf": {adminCSRF}, "offer": {"on"}})
	staffPost(t, admin, ts.URL+"/staff/admin/custodian", url.Values{"csrf": {adminCSRF}, "id": {strconv.FormatInt(rootID, 10)}, "custodian": {"on"}})
	if _, page := get(t, client(t), ts.URL+"/report"); strings.Contains(page, `name="id_name"`) {
		t.Fatal("the form offers the identity section with no custodian key of the organisation's kind")
	}
	if _, page := get(t, admin, ts.URL+"/staff/identity"); !strings.Contains(page, "is not of the organisation&#39;s kind") {
		t.Fatalf("the custodian's page does not say their key is of the other kind: %s", page)
	}
}

// TestIdentityRidesAlongTheSteps: with a questionnaire in steps, the
// identity section is on the last page only; going back from it carries
// what the reporter wrote there (as hidden fields, like the text), it is
// on the last page again, and the report seals it for the custodian.
func TestIdentityRidesAlongTheSteps(t *testing.T) {
	t.Parallel()
	ts := stepsServer(t)
	ctx := context.Background()
	admin, adminCSRF := loggedIn(t, ts, "root", storage.RoleAdmin)
	rootID := staffID(t, ts, "root")
	rootKey, err := age.GenerateHybridIdentity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(ctx, rootID, rootKey.Recipient().String()))
	staffPost(t, admin, ts.URL+"/staff/admin/channels/1/identity", url.Values{"csrf": {adminCSRF}, "offer": {"on"}})
	staffPost(t, admin, ts.URL+"/staff/admin/custodian", url.Values{"csrf": {adminCSRF}, "id": {strconv.FormatInt(rootID, 10)}, "custodian": {"on"}})

	_, first := get(t, client(t), ts.URL+"/report")
	if strings.Contains(first, `name="id_name"`) {
		t.Fatal("the identity section is on the first step")
	}
	_, last := step(t, ts, first, [2]string{"q_role", "Public"}, [2]string{"nav", "next"})
	if !strings.Contains(last, `name="id_name"`) {
		t.Fatalf("the last page has no identity section: %s", last)
	}
	// Back from the last page, with the section filled in.
	_, back := step(t, ts, last, [2]string{"id_name", "Jo <Steps>"}, [2]string{"id_contact", "jo@example.org"}, [2]string{"nav", "back"})
	wants(t, "the first step after going back", back, `<input type="hidden" name="id_name" value="Jo &lt;Steps&gt;">`,
		`<input type="hidden" name="id_contact" value="jo@example.org">`)
	_, last = step(t, ts, back, [2]string{"q_role", "Public"}, [2]string{"nav", "next"})
	wants(t, "the last page again", last, `value="Jo &lt;Steps&gt;"`, "jo@example.org</textarea>")
	if strings.Contains(last, `type="hidden" name="id_name"`) {
		t.Fatalf("the last page carries the identity both hidden and in its section: %s", last)
	}
	res, page := finalPost(t, ts, last, formPart{field: "id_name", value: "Jo <Steps>"}, formPart{field: "id_contact", value: "jo@example.org"},
		formPart{field: "q_summary", value: "One line"}, formPart{field: "body", value: "text"})
	m := caseCodeRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("report: %d: %s", res.StatusCode, page)
	}
	ci, err := ts.DB.CaseIdentity(ctx, caseOfCode(t, ts, m[1]).ID)
	must(t, err)
	if d := openDetails(t, ci.Ciphertext, rootKey); d.Name != "Jo <Steps>" || d.Contact != "jo@example.org" {
		t.Fatalf("sealed details: %+v", d)
	}
}
