package frontend_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/frontend"
)

var inlineHandler = regexp.MustCompile(`\son[a-z]+\s*=`)

type site struct {
	Org             string
	Demo            bool
	EmployerNetwork bool
}

type page struct {
	Site   site
	Data   any
	Staff  any
	Lang   frontend.Language
	Switch []struct {
		frontend.Language
		URL string
	}
}

func parse(t *testing.T) *frontend.Templates {
	t.Helper()
	cat, err := frontend.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := frontend.Parse(cat)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestEveryPageRendersAndEscapes(t *testing.T) {
	t.Parallel()
	tmpl := parse(t)
	hostile := `<script>alert("x")</script>`
	type att struct {
		ID                                 int64
		Name, Type, SHA256, OriginalSHA256 string
		Size                               int64
		Removed                            []string
		Cleaned, KeptOriginal              bool
		Note                               string
	}
	type msg struct {
		Mine        bool
		Date        time.Time
		Text        string
		Attachments []att
		Answers     []struct{ Label, Value string }
	}
	limits := map[string]any{"MaxTotal": int64(2 << 30), "MaxFile": int64(1 << 30), "MaxFiles": 20, "MaxText": 256 << 10, "MaxClean": int64(32 << 20)}
	with := func(m map[string]any) map[string]any {
		for k, v := range limits {
			m[k] = v
		}
		return m
	}
	pages := map[string]any{
		"index":    nil,
		"report":   with(map[string]any{"Error": hostile, "Text": hostile}),
		"receipt":  map[string]any{"Code": "K01S-H0RD-8NBQ-BKA6-1PXX", "Files": []att{{Name: hostile, Size: 10, SHA256: "ab", Removed: []string{hostile}, OriginalSHA256: "cd"}}},
		"followup": map[string]any{"Error": hostile},
		"followup-kept": with(map[string]any{"Error": hostile,
			"Kept": map[string]any{"Text": hostile, "Files": []string{hostile}, "Form": "tok", "Keep": true}}),
		"case": with(map[string]any{"Page": 1, "Pages": 2, "PrevPage": 0, "NextPage": 2, "HasReply": false, "Status": "New", "StatusHelp": "h", "Sent": true, "Error": "", "CSRF": "tok",
			"AckBy": time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC),
			"Messages": []msg{{Mine: true, Text: hostile, Attachments: []att{{ID: 1, Name: hostile}},
				Answers: []struct{ Label, Value string }{{hostile, hostile}}}, {Text: "reply"}}}),
		"error":          map[string]any{"Status": 404, "Title": hostile, "Message": hostile, "Back": ""},
		"report_channel": map[string]any{"Channels": []map[string]any{{"ID": int64(2), "Name": hostile, "Description": hostile}}},
		"report-kept":    with(map[string]any{"Channel": map[string]any{"ID": int64(2), "Name": hostile}}),
	}
	for name, data := range pages {
		t.Run(name, func(t *testing.T) {
			out, err := tmpl.Render(strings.TrimSuffix(name, "-kept"), "en", page{Site: site{Org: hostile, Demo: true}, Data: data, Lang: frontend.Languages[0]})
			if err != nil {
				t.Fatal(err)
			}
			html := string(out)
			if strings.Contains(html, "<script") {
				t.Error("hostile text was rendered as HTML")
			}
			if !strings.Contains(html, "&lt;script&gt;") {
				t.Error("hostile text does not appear escaped")
			}
			if !strings.Contains(html, "Demo installation") {
				t.Error("demo banner missing")
			}
			if strings.Contains(html, "style=") || inlineHandler.MatchString(html) {
				t.Error("inline style or handler would break the CSP")
			}
		})
	}
	if _, err := tmpl.Render("no-such-page", "en", nil); err == nil {
		t.Error("rendering an unknown page succeeded")
	}
}

func TestReportFormMeetsTheContract(t *testing.T) {
	t.Parallel()
	tmpl := parse(t)
	out, err := tmpl.Render("report", "en", page{Data: map[string]any{"MaxTotal": int64(1), "MaxFile": int64(1), "MaxFiles": 1, "MaxText": 1, "MaxClean": int64(1)}})
	if err != nil {
		t.Fatal(err)
	}
	html := string(out)
	for _, want := range []string{`method="post"`, `enctype="multipart/form-data"`, `<textarea name="body"`, `name="attachments"`, `multiple`} {
		if !strings.Contains(html, want) {
			t.Errorf("report form lacks %s", want)
		}
	}
	if strings.Index(html, `name="body"`) > strings.Index(html, `name="attachments"`) {
		t.Error("the text field must come before the file input (browsers send parts in DOM order)")
	}
}
