package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// caseSummary returns the stored inbox summary of a case.
func caseSummary(t *testing.T, ts *testServer, id int64) []byte {
	t.Helper()
	cases, _, err := ts.DB.ListCases(context.Background(), storage.CaseFilter{AllChannels: true, WithSummary: true}, storage.Cursor{}, 1000)
	must(t, err)
	for _, c := range cases {
		if c.ID == id {
			return c.Summary
		}
	}
	t.Fatalf("case %d not listed", id)
	return nil
}

// caseIdentityOf opens the case's own identity with its code, as a
// reporter's follow-up login does.
func caseIdentityOf(t *testing.T, ts *testServer, code string) age.Identity {
	t.Helper()
	p, err := crypto.ParseCaseCode(code)
	must(t, err)
	sets, err := ts.DB.KDFParamSets(context.Background())
	must(t, err)
	keys, err := crypto.KDFParams{Time: sets[0].Time, MemoryKiB: sets[0].MemoryKiB, Threads: sets[0].Threads, Salt: sets[0].Salt}.Derive(p)
	must(t, err)
	id, err := crypto.UnwrapCaseIdentity(keys, caseOfCode(t, ts, code).WrappedIdentity)
	must(t, err)
	return id.Identity()
}

func TestReportIsSummarisedForTheStaffSideOnly(t *testing.T) {
	t.Parallel()
	adjust, org := classicOrg(t)
	ts := startServer(t, adjust)
	ctx := context.Background()
	alice, err := ts.DB.CreateStaff(ctx, "alice", storage.RoleCaseworker)
	must(t, err)
	aliceKey, err := age.GenerateX25519Identity()
	must(t, err)
	must(t, ts.DB.SetStaffRecipient(ctx, alice.ID, aliceKey.Recipient().String()))
	must(t, ts.DB.AddChannelMember(ctx, storage.DefaultChannel, alice.ID))
	channelKey := addChannelKey(t, ts, storage.DefaultChannel, map[int64]*age.X25519Identity{alice.ID: aliceKey})
	// The channel offers the identity section, kept by alice.
	must(t, ts.DB.SetChannelOfferIdentity(ctx, storage.DefaultChannel, true))
	must(t, ts.DB.SetStaffCustodian(ctx, alice.ID, true))

	longForce := strings.Repeat("Ł", 150)
	res, page := sendReport(t, ts, [][2]string{
		{"id_name", "Sgt NAME-7c1 Doe"}, {"id_contact", "CONTACT-7c1@example.org"}, {"id_role", "ROLE-7c1"},
		{"q_force", "Kent Police"}, {"q_place", "PLACE-7c1 station"}, {"q_platform", "WhatsApp"}, {"q_people", "PEOPLE-7c1"},
		{"body", "\r\n   \r\n  Racist jokes SUMMARY-7c1 in the team chat  \r\nSECOND-LINE-7c1 more detail"},
	})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d %s", res.StatusCode, page)
	}
	code := strings.TrimSpace(caseCodeRE.FindStringSubmatch(page)[1])
	cs := caseOfCode(t, ts, code)
	sealed := caseSummary(t, ts, cs.ID)
	if !bytes.HasPrefix(sealed, []byte("age-encryption.org/v1\n")) || bytes.Contains(sealed, []byte("7c1")) {
		t.Fatalf("the summary is not an age file, or holds plaintext: %q", sealed)
	}
	// The organisation's key and the channel's open it, by age alone.
	for name, id := range map[string]age.Identity{"organisation": org, "channel": channelKey} {
		r, err := age.Decrypt(bytes.NewReader(sealed), id)
		if err != nil {
			t.Fatalf("the %s key does not open the summary: %v", name, err)
		}
		plain, err := io.ReadAll(r)
		must(t, err)
		for _, secret := range []string{"NAME-7c1", "CONTACT-7c1", "ROLE-7c1", "SECOND-LINE-7c1", "PLACE-7c1", "PEOPLE-7c1"} {
			if bytes.Contains(plain, []byte(secret)) {
				t.Errorf("the summary holds %s: %s", secret, plain)
			}
		}
	}
	// The case's own key (the reporter's) does not: they never need it.
	if _, err := age.Decrypt(bytes.NewReader(sealed), caseIdentityOf(t, ts, code)); err == nil {
		t.Fatal("the case's own key opens the summary")
	}
	s, err := crypto.OpenSummary(sealed, channelKey)
	must(t, err)
	want := crypto.Summary{Version: 1, Channel: "Report misconduct", FirstLine: "Racist jokes SUMMARY-7c1 in the team chat",
		Answers: []crypto.SummaryAnswer{{Label: "Which police force is this about?", Value: "Kent Police"},
			{Label: "Where were the messages posted?", Value: "WhatsApp"}}}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("summary:\n got  %+v\n want %+v", s, want)
	}

	// Bounded: a long first line and a long answer are cut, on a
	// character, and marked.
	res, page = sendReport(t, ts, [][2]string{{"q_force", longForce}, {"body", strings.Repeat("é", 5000)}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("long report: %d %s", res.StatusCode, page)
	}
	long := caseOfCode(t, ts, strings.TrimSpace(caseCodeRE.FindStringSubmatch(page)[1]))
	sealed = caseSummary(t, ts, long.ID)
	s, err = crypto.OpenSummary(sealed, org)
	must(t, err)
	if n := utf8.RuneCountInString(s.FirstLine); n != crypto.MaxSummaryFirstLine || !strings.HasSuffix(s.FirstLine, "é…") {
		t.Errorf("a first line of 5,000 characters is kept as %d: %q", n, s.FirstLine)
	}
	if len(s.Answers) != 1 || utf8.RuneCountInString(s.Answers[0].Value) != crypto.MaxSummaryValue || !utf8.ValidString(s.Answers[0].Value) {
		t.Errorf("a long answer is kept as %+v", s.Answers)
	}
	if len(sealed) > 2<<10 {
		t.Errorf("the summary of a long report is %d bytes", len(sealed))
	}
}

// summaries fetches GET /staff/summaries as the inbox's script does.
func summaries(t *testing.T, c *http.Client, u string) (refs []string, answer map[string]any) {
	t.Helper()
	res, body := getJSON(t, c, u)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("GET %s: Cache-Control %q", u, cc)
	}
	var out struct {
		Total int
		Rows  []struct {
			Ref     string
			Channel int64
			Summary *string
		}
	}
	must(t, json.Unmarshal([]byte(body), &out))
	must(t, json.Unmarshal([]byte(body), &answer))
	for _, r := range out.Rows {
		refs = append(refs, r.Ref)
	}
	return refs, answer
}

func TestSummariesAreOnlyOfTheViewersCases(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	alice, bob, aliceID, other := twoTeams(t, ts)

	report := func(channel int64, text string) storage.Case {
		t.Helper()
		res, page := sendReport(t, ts, [][2]string{{"channel", strconv.FormatInt(channel, 10)}, {"body", text}})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("report: %d %s", res.StatusCode, page)
		}
		return caseOfCode(t, ts, strings.TrimSpace(caseCodeRE.FindStringSubmatch(page)[1]))
	}
	general1, general2 := report(storage.DefaultChannel, "one"), report(storage.DefaultChannel, "two")
	theirs := report(other, "three")
	// A case from before summaries were kept.
	kdf, err := ts.DB.KDFParamSets(ctx)
	must(t, err)
	old, err := ts.DB.CreateCase(ctx, storage.NewCase{Ref: "OLD0-0000", LookupID: []byte("old-lookup"), KDFID: kdf[0].ID,
		WrappedIdentity: []byte("age-encryption.org/v1\nold"), Recipient: "age1old",
		First: storage.NewMessage{Ciphertext: []byte("age-encryption.org/v1\nold message")}})
	must(t, err)

	set := func(refs []string) string {
		m := map[string]bool{}
		for _, r := range refs {
			m[r] = true
		}
		var out []string
		for _, r := range []string{general1.Ref, general2.Ref, theirs.Ref, old.Ref} {
			if m[r] {
				out = append(out, r)
			}
		}
		return strings.Join(out, " ")
	}
	refs, answer := summaries(t, alice, ts.URL+"/staff/summaries")
	if got := set(refs); got != set([]string{general1.Ref, general2.Ref, old.Ref}) || len(refs) != 3 {
		t.Errorf("alice (the general team) gets the summaries of %v", refs)
	}
	if answer["total"] != 3.0 || answer["total_more"] != false || answer["next"] != "" || answer["at"] != "" {
		t.Errorf("alice's answer: %v", answer)
	}
	for _, r := range answer["rows"].([]any) {
		row := r.(map[string]any)
		if row["ref"] == old.Ref && row["summary"] != nil {
			t.Errorf("a case from before summaries has %v", row["summary"])
		}
		if row["ref"] == general1.Ref && !strings.HasPrefix(fmt.Sprint(row["summary"]), "YWdlLWVuY3J5cHRpb24ub3JnL3Yx") {
			t.Errorf("the summary is not the base64 of an age file: %v", row["summary"])
		}
	}
	// Asking for another team's channel gives none of its summaries (the
	// filter is ignored, as on the inbox).
	if refs, _ := summaries(t, alice, fmt.Sprintf("%s/staff/summaries?channel=%d", ts.URL, other)); strings.Contains(set(refs), theirs.Ref) {
		t.Errorf("alice asking for the other channel gets %v", refs)
	}
	if refs, _ := summaries(t, bob, ts.URL+"/staff/summaries"); set(refs) != theirs.Ref || len(refs) != 1 {
		t.Errorf("bob (the other team) gets the summaries of %v", refs)
	}
	// Recused from a case, alice no longer gets its summary.
	must(t, ts.DB.RecuseFromCase(ctx, general1.ID, aliceID, "knows the reporter"))
	if refs, _ := summaries(t, alice, ts.URL+"/staff/summaries"); set(refs) != set([]string{general2.Ref, old.Ref}) {
		t.Errorf("alice, recused from %s, gets %v", general1.Ref, refs)
	}
	// The inbox's filters apply, and a cursor the inbox did not make gives
	// the first page.
	if refs, _ := summaries(t, bob, ts.URL+"/staff/summaries?status=closed"); len(refs) != 0 {
		t.Errorf("bob's closed cases: %v", refs)
	}
	if refs, answer := summaries(t, alice, ts.URL+"/staff/summaries?at=garbage"); set(refs) != set([]string{general2.Ref, old.Ref}) || answer["at"] != "" {
		t.Errorf("a garbage cursor: %v %v", refs, answer)
	}
	// Without a session, nothing.
	if res, body := getJSON(t, client(t), ts.URL+"/staff/summaries"); res.StatusCode == http.StatusOK || strings.Contains(body, general2.Ref) {
		t.Errorf("without a session: %d %s", res.StatusCode, body)
	}
}

func TestInboxFiltersIgnoreBadInputWithAMessage(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	alice, _ := loggedIn(t, ts, "alice", storage.RoleCaseworker)
	other, err := ts.DB.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Not hers"}})
	must(t, err)
	res, page := sendReport(t, ts, [][2]string{{"channel", "1"}, {"body", "a report"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d", res.StatusCode)
	}
	ref := caseOfCode(t, ts, strings.TrimSpace(caseCodeRE.FindStringSubmatch(page)[1])).Ref
	today := ts.now().UTC().Format("2006-01-02")
	yesterday := ts.now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	for _, tc := range []struct {
		name, query string
		listed      bool
		message     string
	}{
		{"received today", "from=" + today + "&to=" + today, true, ""},
		{"received until yesterday", "to=" + yesterday, false, ""},
		{"a day that is not one", "from=2024-02-30", true, "is not a day (YYYY-MM-DD): the “received from” filter was ignored"},
		{"garbage", "to=" + url.QueryEscape("<script>x</script>"), true, "is not a day"},
		{"a range the wrong way round", "from=" + today + "&to=" + yesterday, true, "both were ignored"},
		{"another team's channel", fmt.Sprintf("channel=%d", other), true, "not one of yours"},
		{"her channel", "channel=1", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, page := get(t, alice, ts.URL+"/staff/?"+tc.query)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%d", res.StatusCode)
			}
			if strings.Contains(page, ref) != tc.listed {
				t.Errorf("case listed: %v, want %v", !tc.listed, tc.listed)
			}
			if tc.message != "" && !strings.Contains(page, tc.message) {
				t.Errorf("no message %q", tc.message)
			}
			if tc.message == "" && strings.Contains(page, `id="inbox-ignored"`) {
				t.Error("a message about ignored filters")
			}
			if strings.Contains(page, "<script>x") {
				t.Error("the bad input is echoed unescaped")
			}
		})
	}
	// The channel filter offers her channels only, and the pager and the
	// script's URL keep every filter.
	_, page = get(t, alice, ts.URL+"/staff/?channel=1&from="+yesterday+"&status=new")
	if strings.Contains(page, "Not hers") {
		t.Error("the channel filter offers a channel she is not a member of")
	}
	if !strings.Contains(page, `data-summaries-url="/staff/summaries?channel=1&amp;from=`+yesterday+`&amp;status=new"`) {
		t.Error("the summaries URL does not keep the filters")
	}
}

// twoTeams logs in alice, in the default channel, and bob, moved to a
// channel of his own ("Other team"), and returns their clients, alice's
// id and bob's channel.
func twoTeams(t *testing.T, ts *testServer) (alice, bob *http.Client, aliceID, other int64) {
	t.Helper()
	ctx := context.Background()
	alice, _ = loggedIn(t, ts, "alice", storage.RoleCaseworker)
	bob, _ = loggedIn(t, ts, "bob", storage.RoleCaseworker)
	aliceID, bobID := staffID(t, ts, "alice"), staffID(t, ts, "bob")
	other, err := ts.DB.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Other team"}})
	must(t, err)
	must(t, ts.DB.RemoveChannelMember(ctx, storage.DefaultChannel, bobID))
	must(t, ts.DB.AddChannelMember(ctx, other, bobID))
	return alice, bob, aliceID, other
}
