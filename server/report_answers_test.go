package server_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// caseOfCode finds the case a code opens, as a login does.
func caseOfCode(t *testing.T, ts *testServer, code string) storage.Case {
	t.Helper()
	ctx := context.Background()
	p, err := crypto.ParseCaseCode(code)
	must(t, err)
	sets, err := ts.DB.KDFParamSets(ctx)
	must(t, err)
	keys, err := crypto.KDFParams{Time: sets[0].Time, MemoryKiB: sets[0].MemoryKiB, Threads: sets[0].Threads, Salt: sets[0].Salt}.Derive(p)
	must(t, err)
	cs, err := ts.DB.CaseByLookup(ctx, sets[0].ID, keys.LookupID)
	must(t, err)
	return cs
}

// firstMessage opens the first message of the case a code opens, with the
// organisation's key.
func firstMessage(t *testing.T, ts *testServer, code string) crypto.Message {
	t.Helper()
	msgs, err := ts.DB.Messages(context.Background(), caseOfCode(t, ts, code).ID)
	must(t, err)
	m, err := crypto.OpenMessage(msgs[0].Ciphertext, ts.OrgKey)
	must(t, err)
	return m
}

func TestReportFormAsksTheIntakeQuestions(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	res, page := get(t, client(t), ts.URL+"/report")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report form: %d", res.StatusCode)
	}
	for _, want := range []string{"About what happened (all optional)", `name="q_force"`, `name="q_place"`, `name="q_when_from"`,
		`name="q_when_to"`, `type="month"`, `name="q_platform"`, `name="q_people"`, `name="q_how_known"`,
		`name="q_reported_elsewhere"`, `name="q_traced"`, `name="q_others_saw"`, `name="q_group_size"`,
		`aria-describedby="q_force-hint"`, "Could this report be traced back to you?"} {
		if !strings.Contains(page, html.EscapeString(want)) && !strings.Contains(page, want) {
			t.Errorf("report form lacks %s", want)
		}
	}
	if strings.Contains(page, " required") {
		t.Error("a question is required: every one must be optional")
	}
	if strings.Index(page, `name="q_group_size"`) > strings.Index(page, `name="body"`) {
		t.Error("the questions must come before the text and the files")
	}
}

func TestAnswersAreSealedInTheFirstMessage(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	fields := [][2]string{
		{"q_force", "  Gwent <Police>  "}, {"q_place", ""}, {"q_when_from", "2024-03"}, {"q_when_to", "2024-05"},
		{"q_platform", "WhatsApp"}, {"q_people", "A sergeant\r\nand two PCs"}, {"q_how_known", "Someone showed me"},
		{"q_reported_elsewhere", ""}, {"q_traced", "Not sure"}, {"q_group_size", "5 to 20"},
		{"body", "Racist memes in the shift's chat."},
	}
	body, ctype := multipartBody(fields, []file{{name: "shot.txt", ctype: "text/plain", r: strings.NewReader("evidence")}})
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("submit: %d: %s", res.StatusCode, page)
	}
	m := caseCodeRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no receipt: %s", page)
	}
	msg := firstMessage(t, ts, strings.TrimSpace(m[1]))
	want := &crypto.Answers{Questionnaire: "police-conduct", Version: 1, Items: []crypto.Answer{
		{ID: "force", Type: "short_text", Label: "Which police force is this about?", Value: "Gwent <Police>"},
		{ID: "when", Type: "date_range", Label: "When did it happen, roughly?", Value: "2024-03 to 2024-05", From: "2024-03", To: "2024-05"},
		{ID: "platform", Type: "choice", Label: "Where were the messages posted?", Value: "WhatsApp"},
		{ID: "people", Type: "long_text", Label: "Who was involved? Their role or rank is enough; you do not have to name anyone.", Value: "A sergeant\nand two PCs"},
		{ID: "how_known", Type: "choice", Label: "How do you know about it?", Value: "Someone showed me"},
		{ID: "traced", Type: "choice", Label: "Could this report be traced back to you?", Value: "Not sure"},
		{ID: "group_size", Type: "choice", Label: "About how many people are in the group?", Value: "5 to 20"},
	}}
	if !reflect.DeepEqual(msg.Answers, want) {
		t.Fatalf("answers = %+v, want %+v", msg.Answers, want)
	}
	if msg.Text != "Racist memes in the shift's chat." || len(msg.Attachments) != 1 {
		t.Fatalf("message = %+v", msg)
	}
	// The reporter reads their answers back on their case page, escaped.
	c := login(t, ts, strings.TrimSpace(m[1]))
	_, casePage := get(t, c, ts.URL+"/case")
	for _, want := range []string{"Your answers to the questions:", "<dt>Where were the messages posted?</dt>",
		`<dd class="pre-wrap">Gwent &lt;Police&gt;</dd>`, "<dd class=\"pre-wrap\">A sergeant\nand two PCs</dd>"} {
		if !strings.Contains(casePage, want) {
			t.Errorf("the case page lacks %q", want)
		}
	}
	// In Welsh, the questions and choices are Welsh; the typed answers stay.
	_, cy := get(t, c, ts.URL+"/case?lang=cy")
	for _, want := range []string{"Eich atebion i&#39;r cwestiynau:", "<dt>Ble cafodd y negeseuon eu postio?</dt>", "<dd class=\"pre-wrap\">Ddim yn siŵr</dd>",
		`<dd class="pre-wrap">Gwent &lt;Police&gt;</dd>`} {
		if !strings.Contains(cy, want) {
			t.Errorf("the Welsh case page lacks %q", want)
		}
	}
	if strings.Contains(ts.Log.String(), "Gwent") || strings.Contains(ts.Log.String(), "sergeant") {
		t.Error("an answer reached the log")
	}
}

func TestAReportWithOnlyAnswersIsNotEmpty(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	body, ctype := multipartBody([][2]string{{"q_platform", "Signal"}, {"body", ""}}, nil)
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("submit: %d: %s", res.StatusCode, page)
	}
}

func TestAWrongAnswerRefusesTheReportAndKeepsWhatWasEntered(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	for _, tc := range []struct {
		name   string
		field  [2]string
		says   string
		noKeep bool // the wrong value itself is not shown again (it is cut)
	}{
		{"a choice not offered", [2]string{"q_platform", "MySpace"}, `The answer to "` + "\u2068" + `Where were the messages posted?` + "\u2069" + `" is not one of its choices.`, true},
		{"a month that is not one", [2]string{"q_when_from", "2024-13"}, "must be a year and month", false},
		{"a short answer too long", [2]string{"q_place", strings.Repeat("x", 201)}, "is too long: it may have up to 200 characters", false},
		{"a long answer far too long", [2]string{"q_others_saw", strings.Repeat("y", 50000)}, "is too long: it may have up to 5,000 characters", true},
		{"invalid UTF-8", [2]string{"q_place", "a\xffb"}, "could not be read", true},
	} {
		t.Run(tc.name+" is refused with nothing stored, and the form shown again", func(t *testing.T) {
			before := counts(t, ts.DB)
			fields := [][2]string{{"q_force", "Kent & <Medway>"}, {"q_group_size", "More than 20"}, tc.field,
				{"q_when_to", "2024-05"}, {"body", "What I typed <b>here</b>"}, {"keep_originals", "yes"}}
			body, ctype := multipartBody(fields, []file{{name: "chat \"export\".png", ctype: "image/png", r: bytes.NewReader([]byte("png"))}})
			res, page := post(t, client(t), ts.URL+"/report", body, ctype)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", res.StatusCode, page)
			}
			if got := counts(t, ts.DB); got != before {
				t.Fatalf("rows %v, then %v: something was stored", before, got)
			}
			text := html.UnescapeString(page)
			if !strings.Contains(text, tc.says) {
				t.Errorf("page does not say %q: %s", tc.says, text)
			}
			if !strings.Contains(text, "Nothing was saved.") {
				t.Error("page does not say nothing was saved")
			}
			for _, want := range []string{"What I typed <b>here</b>", `value="2024-05"`, "chat _export_.png", `value="More than 20" checked`, `id="keep_originals" checked`} {
				if !strings.Contains(text, want) {
					t.Errorf("page does not keep %s", want)
				}
			}
			if tc.field[0] != "q_force" && !strings.Contains(page, `value="Kent &amp; &lt;Medway&gt;"`) {
				t.Error("page does not keep the force, escaped")
			}
			if !tc.noKeep && tc.field[0] != "q_when_from" && !strings.Contains(text, tc.field[1]) {
				t.Error("page does not keep the wrong answer to correct")
			}
			if strings.Contains(page, "<b>here") {
				t.Error("the kept text is not escaped")
			}
		})
	}
}

func TestMonthsTheWrongWayRoundAreRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	before := counts(t, ts.DB)
	body, ctype := multipartBody([][2]string{{"q_when_from", "2024-06"}, {"q_when_to", "2024-01"}, {"body", "text"}}, nil)
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(page), "has its first month after its second") {
		t.Fatalf("status %d: %s", res.StatusCode, page)
	}
	if got := counts(t, ts.DB); got != before {
		t.Fatal("something was stored")
	}
}
