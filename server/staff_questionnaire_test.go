package server_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

var (
	formInputRE    = regexp.MustCompile(`<input ([^>]*)>`)
	formTextareaRE = regexp.MustCompile(`(?s)<textarea ([^>]*)>(.*?)</textarea>`)
	formSelectRE   = regexp.MustCompile(`(?s)<select ([^>]*)>(.*?)</select>`)
	formOptionRE   = regexp.MustCompile(`<option ([^>]*)>`)
	formAttrRE     = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range formAttrRE.FindAllStringSubmatch(s, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

// editorForm reads the editor's form from a page as a browser would send
// it (without a button's action): hidden and text inputs, ticked
// checkboxes, selected options and textareas.
func editorForm(t *testing.T, page string) url.Values {
	t.Helper()
	start := strings.Index(page, `id="editor-form"`)
	if start < 0 {
		t.Fatalf("no editor on the page: %s", page)
	}
	page = page[start:]
	page = page[:strings.Index(page, "</form>")]
	v := url.Values{}
	for _, m := range formInputRE.FindAllStringSubmatch(page, -1) {
		a := attrs(m[1])
		switch a["type"] {
		case "hidden", "text":
			v.Add(a["name"], a["value"])
		case "checkbox":
			if _, on := a["checked"]; on {
				val, ok := a["value"]
				if !ok {
					val = "on"
				}
				v.Add(a["name"], val)
			}
		}
	}
	for _, m := range formTextareaRE.FindAllStringSubmatch(page, -1) {
		v.Add(attrs(m[1])["name"], html.UnescapeString(m[2]))
	}
	for _, m := range formSelectRE.FindAllStringSubmatch(page, -1) {
		name := attrs(m[1])["name"]
		for _, o := range formOptionRE.FindAllStringSubmatch(m[2], -1) {
			if a := attrs(o[1]); hasAttr(a, "selected") {
				v.Set(name, a["value"])
			}
		}
	}
	return v
}

func hasAttr(a map[string]string, name string) bool { _, ok := a[name]; return ok }

// editorPost posts the draft with a button's action, as a browser sends
// the editor's multipart form: its CSRF token first.
func editorPost(t *testing.T, c *http.Client, u string, form url.Values, action string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if form.Has("csrf") {
		mw.WriteField("csrf", form.Get("csrf"))
	}
	for k, vs := range form {
		if k != "csrf" {
			for _, v := range vs {
				mw.WriteField(k, v)
			}
		}
	}
	mw.WriteField("action", action)
	mw.Close()
	return post(t, c, u, &buf, mw.FormDataContentType())
}

func versions(t *testing.T, ts *testServer, ch int64) []storage.StoredQuestionnaire {
	t.Helper()
	v, err := ts.DB.QuestionnaireVersions(context.Background(), ch)
	must(t, err)
	return v
}

// questionIDs lists the ids of the draft's questions, step by step.
func questionIDs(form url.Values) string {
	var steps []string
	for i := 0; form.Has(fmt.Sprintf("s%d_questions", i)); i++ {
		var ids []string
		for j := 0; form.Has(fmt.Sprintf("s%d_q%d_id", i, j)); j++ {
			ids = append(ids, form.Get(fmt.Sprintf("s%d_q%d_id", i, j)))
		}
		steps = append(steps, strings.Join(ids, ","))
	}
	return strings.Join(steps, " | ")
}

func setupEditor(t *testing.T) (*testServer, *http.Client, string, int64, string) {
	t.Helper()
	ts := startServer(t, nil)
	admin, csrf := loggedIn(t, ts, "root", storage.RoleAdmin)
	ch := newChannel(t, ts, admin, csrf, "Conduct")
	return ts, admin, csrf, ch, fmt.Sprintf("%s/staff/admin/channels/%d/questions", ts.URL, ch)
}

const defaultIDs = "force,place,when,platform,people,how_known,reported_elsewhere,traced,others_saw,group_size"

func TestQuestionnaireEditorShowsTheBuiltinDefaultAndEditsDraftsWithoutStoring(t *testing.T) {
	t.Parallel()
	ts, admin, _, ch, base := setupEditor(t)
	if _, page := get(t, admin, fmt.Sprintf("%s/staff/admin/channels/%d", ts.URL, ch)); !strings.Contains(page, fmt.Sprintf(`href="/staff/admin/channels/%d/questions"`, ch)) {
		t.Error("the channel page does not link its intake questions")
	}
	res, page := get(t, admin, base)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "built-in default") || !strings.Contains(page, "Which police force is this about?") ||
		!strings.Contains(page, "Save as version 1") || !strings.Contains(page, "<code>platform</code>: Single choice") {
		t.Fatalf("editor page: %d %s", res.StatusCode, page)
	}
	form := editorForm(t, page)
	if got := questionIDs(form); got != defaultIDs {
		t.Fatalf("the draft holds %q", got)
	}
	if form.Get("s0_q3_choices_en") != "WhatsApp\nFacebook or Messenger\nMicrosoft Teams\nSnapchat\nTelegram\nSignal\nOther" {
		t.Fatalf("the platform's choices: %q", form.Get("s0_q3_choices_en"))
	}
	if form.Get("base") != "0" || form.Get("s0_q2_type") != frontend.DateRange || form.Get("s0_q2_precision") != "month" {
		t.Fatalf("draft fields: %v", form)
	}

	steps := []struct{ action, want string }{
		{"add-question:0", defaultIDs + ","},
		{"remove-question:0:0", strings.TrimPrefix(defaultIDs, "force,") + ","},
		{"up:0:1", "when,place,platform,people,how_known,reported_elsewhere,traced,others_saw,group_size,"},
		{"add-step", "when,place,platform,people,how_known,reported_elsewhere,traced,others_saw,group_size, | "},
		{"down:0:9", "when,place,platform,people,how_known,reported_elsewhere,traced,others_saw,group_size | "},
		{"add-question:1", "when,place,platform,people,how_known,reported_elsewhere,traced,others_saw,group_size | ,"},
		{"remove-step:1", "when,place,platform,people,how_known,reported_elsewhere,traced,others_saw,group_size"},
		{"down:0:0", "place,when,platform,people,how_known,reported_elsewhere,traced,others_saw,group_size"},
	}
	for _, s := range steps {
		res, page := editorPost(t, admin, base, form, s.action)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", s.action, res.StatusCode, page)
		}
		form = editorForm(t, page)
		if got := questionIDs(form); got != s.want {
			t.Fatalf("after %s the draft holds %q, want %q", s.action, got, s.want)
		}
		if !strings.Contains(page, "Nothing is stored until you save it") {
			t.Errorf("%s: the page does not say the draft is not stored", s.action)
		}
	}
	// A question keeps its texts and translations when it moves.
	if form.Get("s0_q1_label_en") != "When did it happen, roughly?" || form.Get("s0_q1_label_pl") == "" {
		t.Errorf("the moved question's texts: %q / %q", form.Get("s0_q1_label_en"), form.Get("s0_q1_label_pl"))
	}
	if res, page := editorPost(t, admin, base, form, "remove-question:7:0"); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "could not be made") {
		t.Errorf("an action on a step that does not exist: %d", res.StatusCode)
	}
	if v := versions(t, ts, ch); len(v) != 0 {
		t.Fatalf("draft actions stored %d versions", len(v))
	}
}

func TestQuestionnaireEditorSavesVersionsThatStayAsTheyWere(t *testing.T) {
	t.Parallel()
	ts, admin, _, ch, base := setupEditor(t)
	_, page := get(t, admin, base)
	form := editorForm(t, page)
	_, builtin := get(t, admin, base+"/json")
	res, body := editorPost(t, admin, base, form, "save")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/staff/admin/channels/%d/questions?saved=1", ch) {
		t.Fatalf("save the default: %d %s", res.StatusCode, body)
	}
	v1, err := ts.DB.QuestionnaireVersion(context.Background(), ch, 1)
	must(t, err)
	qn, err := frontend.ParseQuestionnaire("channel", 1, v1.Definition)
	must(t, err)
	if len(qn.Questions()) != 10 || qn.Question("platform").Label["pl"] == "" || qn.Question("when").Precision != frontend.PrecisionMonth {
		t.Fatalf("version 1 is not the default with its translations: %s", v1.Definition)
	}
	if string(v1.Definition) != builtin {
		t.Fatalf("the built-in default saved unchanged differs from its JSON:\n%s\nwant\n%s", v1.Definition, builtin)
	}

	_, page = get(t, admin, base+"?saved=1")
	if !strings.Contains(page, "Saved as version 1") || !strings.Contains(page, "Version 1, saved by root") || !strings.Contains(page, "Save as version 2") {
		t.Fatalf("after saving: %s", page)
	}
	// Version 2: a yes/no question, a step that depends on it, a last step.
	form = editorForm(t, page)
	form.Set("s0_q0_label_en", "Which force, in a word?")
	form.Set("steps", "3")
	form.Set("s0_questions", "11")
	form.Set("s0_q10_id", "witnessed")
	form.Set("s0_q10_type", frontend.YesNo)
	form.Set("s0_q10_label_en", "Did you see it yourself?")
	form.Set("s0_q10_required", "on")
	form.Set("s1_questions", "1")
	form.Set("s1_title_en", "What you saw")
	form.Set("s1_when", "witnessed")
	form.Set("s1_values", "witnessed:Yes")
	form.Set("s1_q0_id", "seen")
	form.Set("s1_q0_type", frontend.MultiChoice)
	form.Set("s1_q0_label_en", "What did you see?")
	form.Set("s1_q0_choices_en", "Messages\n\nPhotos\n")
	form.Set("s1_q0_choices_pl", "Wiadomości\n\nZdjęcia")
	form.Set("s2_questions", "1")
	form.Set("s2_q0_id", "evidence")
	form.Set("s2_q0_type", frontend.File)
	form.Set("s2_q0_label_en", "Screenshots, if you have them")
	if res, body := editorPost(t, admin, base, form, "save"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save version 2: %d %s", res.StatusCode, body)
	}
	v2, err := ts.DB.QuestionnaireVersion(context.Background(), ch, 2)
	must(t, err)
	qn2, err := frontend.ParseQuestionnaire("channel", 2, v2.Definition)
	must(t, err)
	seen := qn2.Question("seen")
	if len(qn2.Steps) != 3 || qn2.Steps[1].When == nil || qn2.Steps[1].When.Question != "witnessed" || strings.Join(qn2.Steps[1].When.Values, ",") != "Yes" ||
		seen == nil || len(seen.Choices) != 2 || seen.Choices[1].Label["pl"] != "Zdjęcia" || qn2.Question("force").Label["en"] != "Which force, in a word?" ||
		!qn2.Question("witnessed").Required || qn2.Steps[1].Title["en"] != "What you saw" {
		t.Fatalf("version 2: %s", v2.Definition)
	}
	again, err := ts.DB.QuestionnaireVersion(context.Background(), ch, 1)
	must(t, err)
	if !bytes.Equal(again.Definition, v1.Definition) {
		t.Fatal("saving version 2 changed version 1")
	}
	// Reporters to the channel are asked version 2 at once: its first step,
	// in the editor's wording, naming its version.
	if _, form := get(t, client(t), fmt.Sprintf("%s/report?channel=%d", ts.URL, ch)); !strings.Contains(form, "Which force, in a word?") ||
		!strings.Contains(form, "Did you see it yourself?") || !strings.Contains(form, fmt.Sprintf(`name="questionnaire" value="channel-%d@2"`, ch)) ||
		strings.Contains(form, `name="body"`) {
		t.Fatalf("the report form after version 2: %s", form)
	}
	// Version 1 is viewable read-only and downloadable as it was.
	res, page = get(t, admin, base+"/1")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Which police force is this about?") || strings.Contains(page, "Which force, in a word?") ||
		strings.Contains(page, `id="editor-form"`) {
		t.Fatalf("version 1's page: %d %s", res.StatusCode, page)
	}
	res, body = get(t, admin, base+"/json?version=1")
	if res.StatusCode != http.StatusOK || body != string(v1.Definition) || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("version 1's JSON: %d %q", res.StatusCode, body)
	}
	if res, body := get(t, admin, base+"/json"); body != string(v2.Definition) {
		t.Fatalf("the current JSON: %d %q", res.StatusCode, body)
	}
	if res, _ := get(t, admin, base+"/3"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a version that does not exist: %d", res.StatusCode)
	}
	// The channels' list says which version each channel asks.
	if _, page := get(t, admin, ts.URL+"/staff/admin/channels"); !strings.Contains(page, fmt.Sprintf(`<a href="/staff/admin/channels/%d/questions">version 2</a>`, ch)) ||
		!strings.Contains(page, `built-in default</a>`) {
		t.Errorf("the channels' list does not say which questions they ask: %s", page)
	}
	// The current page shows version 2 with its condition, and lists both.
	_, page = get(t, admin, base)
	for _, want := range []string{"Version 2, saved by root", `Asked only when the answer to &#34;witnessed&#34; is &#34;Yes&#34;.`, "View version 1", "View version 2", "Save as version 3"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page after version 2 lacks %q", want)
		}
	}
	// The editor can start from version 1 again.
	_, page = get(t, admin, base+"?from=1")
	if f := editorForm(t, page); questionIDs(f) != defaultIDs || f.Get("base") != "2" {
		t.Errorf("the draft from version 1: %q base %s", questionIDs(f), f.Get("base"))
	}

	entries, _, err := ts.DB.AuditPage(context.Background(), 0, 100)
	must(t, err)
	var saves []string
	for _, e := range entries {
		if e.Action == "questionnaire.save" {
			if e.Actor != "root" || !strings.Contains(e.Target, fmt.Sprintf("channel %d", ch)) {
				t.Errorf("audit entry: %+v", e)
			}
			saves = append(saves, e.Detail)
		}
	}
	if got := strings.Join(saves, ", "); got != "version 2, version 1" && got != "version 1, version 2" {
		t.Errorf("the audit trail's saves: %q", got)
	}
}

func TestQuestionnaireEditorRefusesInvalidDraftsAndStaleSaves(t *testing.T) {
	t.Parallel()
	ts, admin, _, ch, base := setupEditor(t)
	_, page := get(t, admin, base)
	start := editorForm(t, page)
	edit := func(changes map[string]string) url.Values {
		f := url.Values{}
		for k, v := range start {
			f[k] = append([]string(nil), v...)
		}
		for k, v := range changes {
			f.Set(k, v)
		}
		return f
	}
	for _, c := range []struct {
		name    string
		changes map[string]string
		want    string
	}{
		{"a choice question without choices", map[string]string{"s0_q3_choices_en": "\n"}, `question &#34;platform&#34; needs 1 to 30 choices`},
		{"a missing English label", map[string]string{"s0_q1_label_en": " "}, `question &#34;place&#34;&#39;s label needs a text in the default language`},
		{"a condition on a text question", map[string]string{"steps": "3", "s1_questions": "1", "s1_q0_id": "more", "s1_q0_type": "short_text",
			"s1_q0_label_en": "More?", "s1_when": "force", "s1_values": "force:x", "s2_questions": "0"}, `step 2 depends on &#34;force&#34;, which is not a choice`},
		{"a translation line without an English line", map[string]string{"s0_q3_choices_cy": "a\nb\nc\nd\ne\nf\ng\nh"}, "more lines than the English ones"},
		{"a bad id", map[string]string{"s0_q0_id": "Force!"}, "must be 1 to 40 lower-case letters"},
		{"a step with no questions", map[string]string{"steps": "2", "s0_questions": "0", "s1_questions": "1", "s1_q0_id": "x", "s1_q0_label_en": "X",
			"s1_q0_type": "short_text"}, "step 1 has no questions"},
		{"a long text shown in the inbox", map[string]string{"s0_q4_summary": "on"}, `question &#34;people&#34; is shown in the inbox, but only short text`},
		{"four answers shown in the inbox", map[string]string{"s0_q1_summary": "on", "s0_q6_summary": "on"}, "at most 3 questions may be shown in the inbox"},
	} {
		res, page := editorPost(t, admin, base, edit(c.changes), "save")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, c.want) || !strings.Contains(page, `id="editor-problem"`) {
			t.Errorf("%s: %d, want the message %q: %s", c.name, res.StatusCode, c.want, page)
			continue
		}
		// The draft comes back as it was sent.
		if f := editorForm(t, page); c.changes["s0_questions"] == "" &&
			(f.Get("s0_q0_id") != edit(c.changes).Get("s0_q0_id") || f.Get("s0_q1_label_en") != edit(c.changes).Get("s0_q1_label_en")) {
			t.Errorf("%s: the draft was not kept", c.name)
		}
	}
	if v := versions(t, ts, ch); len(v) != 0 {
		t.Fatalf("invalid drafts stored %d versions", len(v))
	}

	// Two administrators begin from the built-in default; the first saves.
	other, otherCSRF := loggedIn(t, ts, "second", storage.RoleAdmin)
	_, page = get(t, other, base)
	theirs := editorForm(t, page)
	theirs.Set("csrf", otherCSRF)
	theirs.Set("s0_q0_label_en", "THEIRS")
	if res, _ := editorPost(t, other, base, theirs, "save"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first save: %d", res.StatusCode)
	}
	mine := edit(map[string]string{"s0_q0_label_en": "MINE"})
	res, page := editorPost(t, admin, base, mine, "save")
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "someone saved version 1 of these questions while you were editing") {
		t.Fatalf("stale save: %d %s", res.StatusCode, page)
	}
	kept := editorForm(t, page)
	if kept.Get("s0_q0_label_en") != "MINE" || kept.Get("base") != "1" {
		t.Fatalf("the stale draft was not kept: %q base %s", kept.Get("s0_q0_label_en"), kept.Get("base"))
	}
	if v := versions(t, ts, ch); len(v) != 1 {
		t.Fatalf("a stale save stored: %d versions", len(v))
	}
	// Saving the kept draft again, knowingly, stores version 2.
	if res, _ := editorPost(t, admin, base, kept, "save"); res.StatusCode != http.StatusSeeOther || len(versions(t, ts, ch)) != 2 {
		t.Fatalf("saving the kept draft: %d", res.StatusCode)
	}
}

// questionsUpload posts a JSON file to the editor's upload form.
func questionsUpload(t *testing.T, c *http.Client, u, csrf, base string, def []byte) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", csrf)
	mw.WriteField("base", base)
	w, _ := mw.CreateFormFile("definition", "questions.json")
	w.Write(def)
	mw.Close()
	return post(t, c, u, &buf, mw.FormDataContentType())
}

func TestQuestionnaireEditorLoadsUploadedJSONAsADraft(t *testing.T) {
	t.Parallel()
	ts, admin, csrf, ch, base := setupEditor(t)
	def := `{"steps":[{"title":{"en":"About it"},"questions":[{"id":"kind","type":"choice","required":true,"label":{"en":"What kind?","pl":"Jaki rodzaj?"},` +
		`"choices":[{"value":"Words","label":{"en":"Words"}},{"value":"Deeds","label":{"en":"Deeds","cy":"Gweithredoedd"}}]}]},` +
		`{"questions":[{"id":"when","type":"date_range","precision":"day","label":{"en":"When? <b>roughly</b>"}}]}]}`
	res, page := questionsUpload(t, admin, base+"/upload", csrf, "0", []byte(def))
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "loaded into the editor") {
		t.Fatalf("upload: %d %s", res.StatusCode, page)
	}
	if strings.Contains(page, "<b>roughly</b>") {
		t.Error("an uploaded text is not escaped")
	}
	f := editorForm(t, page)
	if questionIDs(f) != "kind | when" || f.Get("s0_q0_choices_cy") != "\nGweithredoedd" || f.Get("s1_q0_precision") != "day" ||
		f.Get("s0_q0_required") != "on" || f.Get("s0_title_en") != "About it" || f.Get("s0_q0_label_pl") != "Jaki rodzaj?" {
		t.Fatalf("the uploaded draft: %v", f)
	}
	if v := versions(t, ts, ch); len(v) != 0 {
		t.Fatal("an upload stored a version")
	}
	// Saved as it came, it is the same questionnaire.
	if res, _ := editorPost(t, admin, base, f, "save"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the upload: %d", res.StatusCode)
	}
	v1, err := ts.DB.QuestionnaireVersion(context.Background(), ch, 1)
	must(t, err)
	want, err := frontend.ParseQuestionnaire("x", 1, []byte(def))
	must(t, err)
	wantDef, _ := want.Definition()
	if string(v1.Definition) != string(wantDef) {
		t.Errorf("the saved upload differs:\n%s\nwant\n%s", v1.Definition, wantDef)
	}

	for name, bad := range map[string][]byte{
		"not JSON":       []byte("steps: 1"),
		"invalid":        []byte(`{"steps":[{"questions":[{"id":"x","type":"choice","label":{"en":"X"}}]}]}`),
		"an unknown key": []byte(`{"steps":[],"extra":1}`),
		"too large":      bytes.Repeat([]byte(" "), frontend.MaxDefinition+1),
	} {
		res, page := questionsUpload(t, admin, base+"/upload", csrf, "1", bad)
		if res.StatusCode < 400 || !strings.Contains(page, "Not loaded") {
			t.Errorf("%s: %d %s", name, res.StatusCode, page)
		}
	}
	if res, _ := questionsUpload(t, admin, base+"/upload", "forged", "1", []byte(def)); res.StatusCode != http.StatusForbidden {
		t.Errorf("upload with a forged token: %d", res.StatusCode)
	}
	if v := versions(t, ts, ch); len(v) != 1 {
		t.Fatalf("refused uploads stored versions: %d", len(v))
	}
}

func TestQuestionnaireEditorNeedsAnAdministratorAndTheCSRFToken(t *testing.T) {
	t.Parallel()
	ts, admin, _, ch, base := setupEditor(t)
	_, page := get(t, admin, base)
	form := editorForm(t, page)
	erin, erinCSRF := loggedIn(t, ts, "erin", storage.RoleCaseworker)
	for _, u := range []string{base, base + "/json", base + "/1"} {
		if res, _ := get(t, erin, u); res.StatusCode != http.StatusForbidden {
			t.Errorf("caseworker GET %s: %d", u, res.StatusCode)
		}
	}
	mine := url.Values{}
	for k, v := range form {
		mine[k] = v
	}
	mine.Set("csrf", erinCSRF)
	if res, _ := editorPost(t, erin, base, mine, "save"); res.StatusCode != http.StatusForbidden {
		t.Errorf("caseworker save: %d", res.StatusCode)
	}
	if res, _ := questionsUpload(t, erin, base+"/upload", erinCSRF, "0", []byte(`{"steps":[]}`)); res.StatusCode != http.StatusForbidden {
		t.Errorf("caseworker upload: %d", res.StatusCode)
	}
	for _, csrf := range []string{"", "forged"} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("csrf", csrf)
		if res, _ := editorPost(t, admin, base, f, "save"); res.StatusCode != http.StatusForbidden {
			t.Errorf("save with csrf %q: %d", csrf, res.StatusCode)
		}
		if csrf == "" {
			f.Del("csrf")
			if res, _ := editorPost(t, admin, base, f, "add-step"); res.StatusCode != http.StatusForbidden {
				t.Errorf("draft action without csrf: %d", res.StatusCode)
			}
		}
	}
	// Oversized or malformed drafts are refused, and store nothing.
	big := url.Values{}
	for k, v := range form {
		big[k] = v
	}
	big.Set("s0_q0_help_en", strings.Repeat("x", 200000))
	if res, _ := editorPost(t, admin, base, big, "save"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("an oversized field: %d", res.StatusCode)
	}
	big.Set("s0_q0_help_en", "")
	big.Set(strings.Repeat("n", 41), "x")
	if res, _ := editorPost(t, admin, base, big, "save"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a field with a long name: %d", res.StatusCode)
	}
	big.Del(strings.Repeat("n", 41))
	big.Set("steps", "11")
	if res, _ := editorPost(t, admin, base, big, "save"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("too many steps: %d", res.StatusCode)
	}
	if res, _ := get(t, admin, fmt.Sprintf("%s/staff/admin/channels/%d/questions", ts.URL, ch+100)); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown channel: %d", res.StatusCode)
	}
	if v := versions(t, ts, ch); len(v) != 0 {
		t.Fatalf("refused requests stored %d versions", len(v))
	}
}

func TestQuestionnaireEditorSetsWhichAnswersTheInboxShows(t *testing.T) {
	t.Parallel()
	ts, admin, _, ch, base := setupEditor(t)
	_, page := get(t, admin, base)
	// The built-in questions show the force and the platform.
	form := editorForm(t, page)
	if form.Get("s0_q0_summary") != "on" || form.Get("s0_q3_summary") != "on" || form.Has("s0_q1_summary") {
		t.Fatalf("the editor's inbox boxes for the built-in questions: force %q, place %q, platform %q",
			form.Get("s0_q0_summary"), form.Get("s0_q1_summary"), form.Get("s0_q3_summary"))
	}
	if !strings.Contains(page, `<label for="s0_q0_summary">Show in the inbox`) {
		t.Fatal("the inbox box has no label")
	}
	form.Del("s0_q0_summary")
	form.Set("s0_q1_summary", "on")
	if res, body := editorPost(t, admin, base, form, "save"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, body)
	}
	v1, err := ts.DB.QuestionnaireVersion(context.Background(), ch, 1)
	must(t, err)
	qn, err := frontend.ParseQuestionnaire("channel", 1, v1.Definition)
	must(t, err)
	var shown []string
	for _, q := range qn.Questions() {
		if q.Summary {
			shown = append(shown, q.ID)
		}
	}
	if strings.Join(shown, ",") != "place,platform" {
		t.Errorf("saved with the inbox showing %v, want place and platform", shown)
	}
	_, page = get(t, admin, base)
	if !strings.Contains(page, "optional, shown in the inbox.") {
		t.Error("the current questions do not say which answers the inbox shows")
	}
}
