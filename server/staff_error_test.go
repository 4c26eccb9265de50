package server_test

import (
	"net/http"
	"strings"
	"testing"
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
