package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// Staff errors are plain English, whatever the browser's language: they
// are not in the reporters' catalogues (frontend/i18n_test.go checks that
// those hold no unused keys).
func TestStaffErrorsArePlainEnglish(t *testing.T) {
	ts := startServer(t, nil)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/staff/enrol/no-such-token", nil)
	req.Header.Set("Accept-Language", "pl")
	res, page := do(t, client(t), req)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", res.StatusCode)
	}
	if lang, _ := pageLang(t, page); lang != "en" {
		t.Errorf("page in %s", lang)
	}
	for _, want := range []string{"This link is not valid", "Enrolment links work once"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// The console's script asks for JSON and gets its refusals as JSON.
func TestStaffErrorsAnswerTheConsolesScriptInJSON(t *testing.T) {
	ts := startServer(t, nil)
	submit(t, ts, "a report")
	c, csrf := loggedIn(t, ts, "lena", storage.RoleCaseworker)
	_, inbox := get(t, c, ts.URL+"/staff/")
	ref := refRE.FindStringSubmatch(inbox)[1]
	res, body := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/attachment", csrf, nil, []byte("plain text"))
	var answer struct{ Error string }
	if res.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &answer) != nil ||
		!strings.Contains(answer.Error, "The file is not an age-encrypted file.") {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
}

// TestEveryStaffErrorIsAStaffAnswer checks errors that staff requests meet
// in pieces shared with the reporter pages (reading a form or an upload,
// resolving a case, refusing a cross-site post): each reaches the console
// as a staff answer, in English whatever the browser's language, as JSON
// when asked for, and never with the reporters' wording or advice.
func TestEveryStaffErrorIsAStaffAnswer(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *server.Config) { c.MaxUploadBytes = 64 << 10 })
	submit(t, ts, "a report")
	c, csrf := loggedIn(t, ts, "nina", storage.RoleCaseworker)
	_, inbox := get(t, c, ts.URL+"/staff/")
	ref := refRE.FindStringSubmatch(inbox)[1]
	reporterWords := []string{"your case", "Nothing was saved. Please go back", "For your safety", "Your submission"}

	for _, tc := range []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		header [2]string
		status int
		want   string
	}{
		{"an oversized attachment upload", http.MethodPost, "/staff/case/" + ref + "/attachment",
			"multipart/form-data; boundary=x", strings.Repeat("x", 100<<10), [2]string{},
			http.StatusRequestEntityTooLarge, "The upload is too large"},
		{"a form of the wrong content type", http.MethodPost, "/staff/case/" + ref + "/status",
			"text/plain", "csrf=" + csrf + "&status=closed", [2]string{},
			http.StatusBadRequest, "The form was not sent as expected. Nothing was changed."},
		{"an unknown case", http.MethodGet, "/staff/case/AAAA-AAAA", "", "", [2]string{},
			http.StatusNotFound, "There is no such page, case or record."},
		{"a cross-site post", http.MethodPost, "/staff/case/" + ref + "/status",
			"application/x-www-form-urlencoded", "csrf=" + csrf + "&status=closed", [2]string{"Sec-Fetch-Site", "cross-site"},
			http.StatusForbidden, "The console accepts forms only from its own pages"},
	} {
		for _, asJSON := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s (JSON: %v)", tc.name, asJSON), func(t *testing.T) {
				req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
				if tc.ctype != "" {
					req.Header.Set("Content-Type", tc.ctype)
				}
				if tc.header[0] != "" {
					req.Header.Set(tc.header[0], tc.header[1])
				}
				req.Header.Set("Accept-Language", "pl")
				if asJSON {
					req.Header.Set("Accept", "application/json")
				}
				res, body := do(t, c, req)
				if res.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
				}
				if !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
					t.Error("not under the staff policy")
				}
				text := body
				if asJSON {
					var answer struct{ Error string }
					if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.Error == "" {
						t.Fatalf("not a JSON error: %s", body)
					}
					text = answer.Error
				} else {
					if lang, _ := pageLang(t, body); lang != "en" {
						t.Errorf("page in %s", lang)
					}
					if i := strings.Index(text, "<main"); i >= 0 {
						text = text[i:]
					}
					if i := strings.Index(text, "</main>"); i >= 0 {
						text = text[:i]
					}
				}
				if !strings.Contains(text, tc.want) {
					t.Errorf("answer lacks %q: %s", tc.want, text)
				}
				for _, w := range reporterWords {
					if strings.Contains(text, w) {
						t.Errorf("answer has the reporters' %q: %s", w, text)
					}
				}
			})
		}
	}
	if cs, err := ts.DB.CaseByRef(context.Background(), ref); err != nil || cs.Status != storage.StatusNew {
		t.Errorf("a refused status change was made: %q, %v", cs.Status, err)
	}
}
