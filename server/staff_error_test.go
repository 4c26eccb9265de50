package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

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
