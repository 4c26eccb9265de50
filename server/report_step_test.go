package server_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// stepsQuestionnaire asks every type of question over three steps; the
// second is asked only of insiders.
const stepsQuestionnaire = `{"steps": [
 {"title": {"en": "About you", "cy": "Amdanoch chi"}, "questions": [
  {"id": "role", "type": "choice", "required": true, "label": {"en": "Who are you?", "cy": "Pwy ydych chi?"},
   "help": {"en": "Choose one."},
   "choices": [{"value": "Officer", "label": {"en": "Officer", "cy": "Swyddog"}}, {"value": "Staff", "label": {"en": "Staff"}},
    {"value": "Public", "label": {"en": "Public"}}]},
  {"id": "seen", "type": "yes_no", "label": {"en": "Did you see it yourself?"}}]},
 {"title": {"en": "The messages"}, "when": {"question": "role", "values": ["Officer", "Staff"]}, "questions": [
  {"id": "apps", "type": "multi_choice", "label": {"en": "Which apps?"},
   "choices": [{"value": "WhatsApp", "label": {"en": "WhatsApp"}}, {"value": "Signal", "label": {"en": "Signal"}},
    {"value": "Teams", "label": {"en": "Teams"}}]},
  {"id": "period", "type": "date_range", "precision": "day", "label": {"en": "Between which days?", "cy": "Rhwng pa ddyddiau?"}},
  {"id": "months", "type": "date_range", "label": {"en": "Which months?"}}]},
 {"title": {"en": "Details"}, "questions": [
  {"id": "summary", "type": "short_text", "required": true, "label": {"en": "In one line?"}},
  {"id": "detail", "type": "long_text", "label": {"en": "More?"}},
  {"id": "day", "type": "date", "label": {"en": "Which day did you report it?"}},
  {"id": "evidence", "type": "file", "label": {"en": "A screenshot of the chat"}}]}
]}`

// stepsServer starts a server whose only channel asks stepsQuestionnaire.
func stepsServer(t *testing.T) *testServer {
	t.Helper()
	ts := startServer(t, nil)
	_, err := ts.DB.SaveQuestionnaire(context.Background(), storage.DefaultChannel, 0, []byte(stepsQuestionnaire), 0)
	must(t, err)
	return ts
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// hiddenFields are a page's hidden inputs, in order, as a browser sends
// them.
func hiddenFields(page string) [][2]string {
	var out [][2]string
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		out = append(out, [2]string{html.UnescapeString(m[1]), html.UnescapeString(m[2])})
	}
	return out
}

// step posts a step form: the page's hidden fields, then fields, as a
// browser with JavaScript off sends them.
func step(t *testing.T, ts *testServer, page string, fields ...[2]string) (*http.Response, string) {
	t.Helper()
	v := url.Values{}
	for _, f := range append(hiddenFields(page), fields...) {
		v.Add(f[0], f[1])
	}
	return post(t, client(t), ts.URL+"/report/step", strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

// formPart is one part of a multipart form: a field, or a file if name
// is set.
type formPart struct{ field, value, file string }

// finalPost posts the report form: the page's hidden fields, then parts.
func finalPost(t *testing.T, ts *testServer, page string, parts ...formPart) (*http.Response, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range hiddenFields(page) {
				if err := mw.WriteField(f[0], f[1]); err != nil {
					return err
				}
			}
			for _, p := range parts {
				if p.file == "" {
					if err := mw.WriteField(p.field, p.value); err != nil {
						return err
					}
					continue
				}
				w, err := mw.CreateFormFile(p.field, p.file)
				if err != nil {
					return err
				}
				if _, err := io.WriteString(w, p.value); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	return post(t, client(t), ts.URL+"/report", pr, mw.FormDataContentType())
}

func wants(t *testing.T, what, page string, want ...string) {
	t.Helper()
	text := html.UnescapeString(page)
	for _, w := range want {
		if !strings.Contains(page, w) && !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestStepsAskEveryTypeOfQuestionAndTheReportHoldsTheAnswers(t *testing.T) {
	t.Parallel()
	ts := stepsServer(t)
	res, first := get(t, client(t), ts.URL+"/report")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /report: %d", res.StatusCode)
	}
	wants(t, "the first step", first, "Step 1 of 3", `action="/report/step"`, `name="questionnaire" value="channel-1@1"`,
		"About you", `type="radio" name="q_role"`, "(required)", `name="q_seen"`, `value="Yes"`, `value="No"`)
	if strings.Contains(first, `name="body"`) || strings.Contains(first, "multipart/form-data") {
		t.Error("the first step is the report form")
	}

	// A required answer missing: the same step, the other answer kept, the
	// question named, a link to it.
	res, again := step(t, ts, first, [2]string{"q_seen", "Yes"}, [2]string{"nav", "next"})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("missing answer: %d", res.StatusCode)
	}
	wants(t, "the step shown again", again, `Please answer "`+"\u2068Who are you?\u2069"+`": it is required.`,
		`href="#q_role-0"`, `id="q_role-error"`, `value="Yes" checked`, "Step 1 of 3")

	// Next: the insiders' step, with the first step's answers carried.
	res, second := step(t, ts, first, [2]string{"q_role", "Officer"}, [2]string{"q_seen", "Yes"}, [2]string{"nav", "next"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("to step 2: %d: %s", res.StatusCode, second)
	}
	wants(t, "the second step", second, "Step 2 of 3", "The messages", `type="checkbox" name="q_apps"`,
		`type="date" name="q_period_from"`, `type="month" name="q_months_from"`,
		`<input type="hidden" name="q_role" value="Officer">`, `<input type="hidden" name="q_seen" value="Yes">`,
		"write the date as year-month-day")

	// Back keeps the answers, unchecked.
	_, back := step(t, ts, second, [2]string{"q_apps", "Teams"}, [2]string{"q_period_from", "not a date"}, [2]string{"nav", "back"})
	wants(t, "the first step again", back, "Step 1 of 3", `value="Officer" checked`, `value="Yes" checked`,
		`<input type="hidden" name="q_apps" value="Teams">`, `<input type="hidden" name="q_period_from" value="not a date">`)

	// A wrong date on step 2 is named; then the right ones lead on.
	res, bad := step(t, ts, second, [2]string{"q_period_from", "2024-02-30"}, [2]string{"nav", "next"})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad date: %d", res.StatusCode)
	}
	wants(t, "step 2 again", bad, "must be a date, such as 2024-03-15", `value="2024-02-30"`)
	res, last := step(t, ts, second, [2]string{"q_apps", "Signal"}, [2]string{"q_apps", "WhatsApp"},
		[2]string{"q_period_from", "2024-02-01"}, [2]string{"q_period_to", "2024-02-29"},
		[2]string{"q_months_from", "2023-11"}, [2]string{"nav", "next"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("to the last step: %d: %s", res.StatusCode, last)
	}
	wants(t, "the last page", last, "Step 3 of 3", `enctype="multipart/form-data"`, `<textarea name="body"`,
		`type="file" name="q_evidence"`, `name="q_summary"`, `type="date" name="q_day"`, `formaction="/report/step"`,
		`<input type="hidden" name="q_apps" value="WhatsApp">`, `<input type="hidden" name="q_apps" value="Signal">`)
	if strings.Index(last, `name="q_apps"`) > strings.Index(last, `name="q_summary"`) ||
		strings.Index(last, `name="q_evidence"`) > strings.Index(last, `name="body"`) {
		t.Error("the earlier answers must come first, then the last step's, then the text")
	}

	// The report: its answers, its files, the version it was asked.
	res, receipt := finalPost(t, ts, last,
		formPart{field: "q_summary", value: "Racist memes"}, formPart{field: "q_detail", value: "Line one\r\nline two"},
		formPart{field: "q_day", value: "2024-03-01"}, formPart{field: "q_evidence", file: "chat.png", value: "png bytes"},
		formPart{field: "body", value: "What happened."}, formPart{field: "attachments", file: "other.txt", value: "other"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d: %s", res.StatusCode, receipt)
	}
	wants(t, "the receipt", receipt, "Questions answered: 9. Your answers were encrypted with your report.")
	code := strings.TrimSpace(caseCodeRE.FindStringSubmatch(receipt)[1])
	if got := caseOfCode(t, ts, code).Questionnaire; got != "channel-1@1" {
		t.Errorf("the case records %q", got)
	}
	msg := firstMessage(t, ts, code)
	want := &crypto.Answers{Questionnaire: "channel-1", Version: 1, Items: []crypto.Answer{
		{ID: "role", Type: "choice", Label: "Who are you?", Value: "Officer"},
		{ID: "seen", Type: "yes_no", Label: "Did you see it yourself?", Value: "Yes"},
		{ID: "apps", Type: "multi_choice", Label: "Which apps?", Value: "WhatsApp; Signal", Values: []string{"WhatsApp", "Signal"}},
		{ID: "period", Type: "date_range", Label: "Between which days?", Value: "2024-02-01 to 2024-02-29", From: "2024-02-01", To: "2024-02-29"},
		{ID: "months", Type: "date_range", Label: "Which months?", Value: "from 2023-11", From: "2023-11"},
		{ID: "summary", Type: "short_text", Label: "In one line?", Value: "Racist memes"},
		{ID: "detail", Type: "long_text", Label: "More?", Value: "Line one\nline two"},
		{ID: "day", Type: "date", Label: "Which day did you report it?", Value: "2024-03-01"},
		{ID: "evidence", Type: "file", Label: "A screenshot of the chat", Value: "chat.png", Values: []string{"chat.png"}},
	}}
	if !reflect.DeepEqual(msg.Answers, want) {
		t.Fatalf("answers = %+v\nwant %+v", msg.Answers, want)
	}
	if len(msg.Attachments) != 2 || msg.Attachments[0].Name != "chat.png" || msg.Attachments[0].Question != "evidence" ||
		msg.Attachments[1].Name != "other.txt" || msg.Attachments[1].Question != "" || msg.Text != "What happened." {
		t.Fatalf("message = %+v", msg)
	}

	// The reporter reads them back, in their language where translated.
	c := login(t, ts, code)
	_, casePage := get(t, c, ts.URL+"/case")
	wants(t, "the case page", casePage, "<dt>Who are you?</dt>", "WhatsApp; Signal", "2024-02-01 to 2024-02-29",
		"from 2023-11", "chat.png", "<dt>Did you see it yourself?</dt>")
	_, cy := get(t, c, ts.URL+"/case?lang=cy")
	wants(t, "the Welsh case page", cy, "<dt>Pwy ydych chi?</dt>", "Swyddog", "2024-02-01 i 2024-02-29", "o 2023-11", ">Ie<")
}

func TestAStepThatDependsOnAnAnswerIsSkipped(t *testing.T) {
	t.Parallel()
	ts := stepsServer(t)
	_, first := get(t, client(t), ts.URL+"/report?channel=1")
	// An answer of the skipped step, carried from before the reporter
	// changed their mind, is dropped.
	res, last := step(t, ts, first, [2]string{"q_role", "Public"}, [2]string{"q_apps", "Teams"}, [2]string{"nav", "next"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("next: %d: %s", res.StatusCode, last)
	}
	wants(t, "the last page", last, "Step 2 of 2", `<textarea name="body"`, `<input type="hidden" name="q_role" value="Public">`)
	if strings.Contains(last, `name="q_apps"`) {
		t.Error("the answer of a step no longer asked is carried")
	}
	res, receipt := finalPost(t, ts, last, formPart{field: "q_summary", value: "x"}, formPart{field: "q_apps", value: "Teams"},
		formPart{field: "body", value: "text"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d: %s", res.StatusCode, receipt)
	}
	msg := firstMessage(t, ts, strings.TrimSpace(caseCodeRE.FindStringSubmatch(receipt)[1]))
	for _, a := range msg.Answers.Items {
		if a.ID == "apps" {
			t.Error("an answer of a step not asked was stored")
		}
	}
	// Back from the last page goes to the first step, keeping the text.
	_, back := step(t, ts, last, [2]string{"q_summary", "kept"}, [2]string{"body", "my text"}, [2]string{"attachments", "a.png"},
		[2]string{"nav", "back"})
	wants(t, "the first step again", back, "Step 1 of 2", `<input type="hidden" name="body" value="my text">`,
		`<input type="hidden" name="q_summary" value="kept">`, "a.png", `<input type="hidden" name="kept_file" value="a.png">`)
	_, last2 := step(t, ts, back, [2]string{"q_role", "Public"}, [2]string{"nav", "next"})
	wants(t, "the last page again", last2, "my text</textarea>", `value="kept"`, "a.png")
}

func TestATamperedEarlierAnswerShowsItsStepAgainWithEverythingKept(t *testing.T) {
	t.Parallel()
	ts := stepsServer(t)
	_, first := get(t, client(t), ts.URL+"/report")
	_, second := step(t, ts, first, [2]string{"q_role", "Staff"}, [2]string{"nav", "next"})
	_, last := step(t, ts, second, [2]string{"q_months_from", "2024-01"}, [2]string{"nav", "next"})
	tampered := strings.Replace(last, `name="q_months_from" value="2024-01"`, `name="q_months_from" value="2024-13"`, 1)
	before := counts(t, ts.DB)
	res, page := finalPost(t, ts, tampered, formPart{field: "q_summary", value: "Kept <summary>"},
		formPart{field: "q_evidence", file: "shot.png", value: "png"},
		formPart{field: "body", value: "My text\r\nin two lines"}, formPart{field: "keep_originals", value: "yes"},
		formPart{field: "attachments", file: "log.txt", value: "log"})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d: %s", res.StatusCode, page)
	}
	if got := counts(t, ts.DB); got != before {
		t.Fatalf("rows %v, then %v: something was stored", before, got)
	}
	wants(t, "the step with the wrong answer", page, "Step 2 of 3", `action="/report/step"`, "must be a year and month",
		`value="2024-13"`, "Nothing was saved.", `<input type="hidden" name="body" value="My text`+"\n"+`in two lines">`,
		`<input type="hidden" name="q_summary" value="Kept &lt;summary&gt;">`, `<input type="hidden" name="keep_originals" value="yes">`,
		"shot.png", "log.txt", `href="#q_months_from"`)
	// Corrected, the last page has it all back.
	_, last2 := step(t, ts, page, [2]string{"q_months_from", "2024-01"}, [2]string{"nav", "next"})
	wants(t, "the last page again", last2, "My text\nin two lines</textarea>", `value="Kept &lt;summary&gt;"`,
		`id="keep_originals" checked`, "shot.png", "log.txt")
}

func TestTheFormsVersionIsUsedWhenTheQuestionnaireChangesMeanwhile(t *testing.T) {
	t.Parallel()
	ts := stepsServer(t)
	_, first := get(t, client(t), ts.URL+"/report")
	edited := strings.Replace(stepsQuestionnaire, `"In one line?"`, `"In a few words?"`, 1)
	v, err := ts.DB.SaveQuestionnaire(context.Background(), storage.DefaultChannel, 1, []byte(edited), 0)
	must(t, err)
	if v != 2 {
		t.Fatalf("version %d", v)
	}
	_, last := step(t, ts, first, [2]string{"q_role", "Public"}, [2]string{"nav", "next"})
	wants(t, "the last page", last, "In one line?", `name="questionnaire" value="channel-1@1"`)
	res, receipt := finalPost(t, ts, last, formPart{field: "q_summary", value: "x"}, formPart{field: "body", value: "t"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d: %s", res.StatusCode, receipt)
	}
	code := strings.TrimSpace(caseCodeRE.FindStringSubmatch(receipt)[1])
	if got := caseOfCode(t, ts, code).Questionnaire; got != "channel-1@1" {
		t.Errorf("the case records %q", got)
	}
	if a := firstMessage(t, ts, code).Answers; a.Version != 1 || a.Items[1].Label != "In one line?" {
		t.Errorf("answers %+v", a)
	}
	// A new form asks the new version.
	_, fresh := get(t, client(t), ts.URL+"/report")
	wants(t, "a new form", fresh, `name="questionnaire" value="channel-1@2"`)
	// A form naming a version the channel does not have is refused.
	// (The form's token made a report already: drop it.)
	last = regexp.MustCompile(`name="form" value="[^"]*"`).ReplaceAllString(last, "")
	for _, ref := range []string{"channel-1@9", "channel-2@1", "police-conduct@2", "channel-1@01", "x"} {
		page := strings.Replace(last, "channel-1@1", ref, 1)
		before := counts(t, ts.DB)
		res, got := finalPost(t, ts, page, formPart{field: "q_summary", value: "x"}, formPart{field: "body", value: "t"})
		if res.StatusCode != http.StatusBadRequest || counts(t, ts.DB) != before {
			t.Errorf("%s: status %d: %s", ref, res.StatusCode, got)
		}
		res, _ = step(t, ts, page, [2]string{"nav", "back"})
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: step status %d", ref, res.StatusCode)
		}
	}
}

func TestTheStepFormIsBounded(t *testing.T) {
	t.Parallel()
	ts := stepsServer(t)
	_, first := get(t, client(t), ts.URL+"/report")
	for name, extra := range map[string][][2]string{
		"a step that does not exist": {{"step", "7"}},
		"a malformed token":          {{"form", "nope"}},
		"too many fields":            manyFields(5000),
		"a single answer twice":      {{"q_role", "Officer"}, {"q_role", "Staff"}, {"nav", "next"}},
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			page := first
			if extra[0][0] == "step" || extra[0][0] == "form" {
				page = regexp.MustCompile(fmt.Sprintf(`name="%s" value="[^"]*"`, extra[0][0])).ReplaceAllString(page, "")
			}
			res, body := step(t, ts, page, extra...)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
		})
	}
}

func TestAStepCarriesALongText(t *testing.T) {
	t.Parallel()
	ts := stepsServer(t)
	_, first := get(t, client(t), ts.URL+"/report")
	text := strings.Repeat("ü", 100<<10) // 600 KiB urlencoded: over the 64 KiB of other small forms
	res, page := step(t, ts, first, [2]string{"q_role", "Public"}, [2]string{"body", text}, [2]string{"nav", "next"})
	if res.StatusCode != http.StatusOK || !strings.Contains(page, text+"</textarea>") {
		t.Fatalf("status %d; the text is not on the last page", res.StatusCode)
	}
}

func TestARepeatedReportKeepsEveryAnswerOfItsSteps(t *testing.T) {
	t.Parallel()
	ts := stepsServer(t)
	_, first := get(t, client(t), ts.URL+"/report")
	_, second := step(t, ts, first, [2]string{"q_role", "Officer"}, [2]string{"nav", "next"})
	_, last := step(t, ts, second, [2]string{"q_apps", "WhatsApp"}, [2]string{"q_apps", "Teams"}, [2]string{"nav", "next"})
	send := func() (*http.Response, string) {
		return finalPost(t, ts, last, formPart{field: "q_summary", value: "Kept & sent"}, formPart{field: "body", value: "text"})
	}
	if res, page := send(); res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d: %s", res.StatusCode, page)
	}
	// Once the receipt is no longer held, the same form sent again is kept
	// in a fresh last page, every answer in it.
	ts.Clock.Add(int64(11 * time.Minute))
	before := counts(t, ts.DB)
	res, page := send()
	if res.StatusCode != http.StatusConflict || counts(t, ts.DB) != before {
		t.Fatalf("repeat: %d: %s", res.StatusCode, page)
	}
	wants(t, "the repeat page", page, `<input type="hidden" name="q_apps" value="WhatsApp">`, `<input type="hidden" name="q_apps" value="Teams">`,
		`<input type="hidden" name="q_role" value="Officer">`, `value="Kept &amp; sent"`, `name="questionnaire" value="channel-1@1"`,
		"Step 3 of 3")
}

func manyFields(n int) [][2]string {
	out := make([][2]string, n)
	for i := range out {
		out[i] = [2]string{fmt.Sprintf("f%d", i), "x"}
	}
	return out
}
