package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var htmlLang = regexp.MustCompile(`<html lang="([a-z]+)"( dir="rtl")?>`)

func pageLang(t *testing.T, page string) (string, bool) {
	t.Helper()
	m := htmlLang.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no <html lang> in page")
	}
	return m[1], m[2] != ""
}

func TestReporterPagesFollowTheBrowsersLanguage(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	for _, tc := range []struct {
		accept, lang string
		rtl          bool
	}{
		{"", "en", false},
		{"pl-PL,pl;q=0.9,en;q=0.5", "pl", false},
		{"ar-EG,ar;q=0.9", "ar", true},
		{"ur-PK", "ur", true},
		{"bn-BD", "bn", false},
		{"cy-GB,cy;q=0.9,en;q=0.5", "cy", false},
		{"cy", "cy", false},
		{"de-DE", "en", false},
	} {
		req, _ := http.NewRequest("GET", ts.URL+"/report", nil)
		req.Header.Set("Accept-Language", tc.accept)
		res, page := do(t, client(t), req)
		lang, rtl := pageLang(t, page)
		if res.StatusCode != 200 || lang != tc.lang || rtl != tc.rtl {
			t.Errorf("Accept-Language %q: lang %s rtl %v, want %s %v", tc.accept, lang, rtl, tc.lang, tc.rtl)
		}
		// The form's contract does not change with the language.
		for _, want := range []string{`name="body"`, `name="attachments"`, `action="/report"`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: form lacks %s", tc.lang, want)
			}
		}
	}
}

func TestLanguageSwitcherWorksWithoutJavaScript(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := client(t)
	_, page := get(t, c, ts.URL+"/")
	for _, tag := range []string{"cy", "pl", "bn", "ur", "ar"} {
		if !strings.Contains(page, `href="/?lang=`+tag+`"`) {
			t.Fatalf("no link to %s on the home page", tag)
		}
	}
	// A choice is remembered for the rest of the visit, over the browser's.
	_, page = get(t, c, ts.URL+"/?lang=pl")
	if lang, _ := pageLang(t, page); lang != "pl" {
		t.Fatalf("?lang=pl gave %s", lang)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/followup", nil)
	req.Header.Set("Accept-Language", "ar")
	_, page = do(t, c, req)
	if lang, _ := pageLang(t, page); lang != "pl" {
		t.Fatalf("the choice was not remembered: %s", lang)
	}
	// An unknown choice changes nothing.
	_, page = get(t, client(t), ts.URL+"/?lang=xx")
	if lang, _ := pageLang(t, page); lang != "en" {
		t.Fatalf("?lang=xx gave %s", lang)
	}
	// The receipt offers no switch: following it would lose the case code.
	body, ctype := multipartBody([][2]string{{"body", "a report"}}, nil)
	res, page := post(t, c, ts.URL+"/report", body, ctype)
	if res.StatusCode != 200 || !caseCodeRE.MatchString(page) || strings.Contains(page, "?lang=") {
		t.Fatalf("receipt: %d, offers a language switch: %v", res.StatusCode, strings.Contains(page, "?lang="))
	}
	if lang, _ := pageLang(t, page); lang != "pl" {
		t.Fatalf("receipt in %s", lang)
	}
}

func TestErrorsAndStatusAreTranslated(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := client(t)
	get(t, c, ts.URL+"/?lang=pl")
	res, page := get(t, c, ts.URL+"/no-such-page")
	if lang, _ := pageLang(t, page); res.StatusCode != 404 || lang != "pl" || strings.Contains(page, "There is no page at this address.") {
		t.Fatalf("404 page not in Polish: %d %s", res.StatusCode, lang)
	}
	// Staff pages stay in English whatever the reporter's choice.
	_, page = get(t, c, ts.URL+"/staff/login")
	if lang, _ := pageLang(t, page); lang != "en" {
		t.Fatalf("staff login in %s", lang)
	}
}

func TestLanguageLinksNeverLeaveTheSite(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.URL.Opaque = "//elsewhere.example/x"
	res, page := do(t, client(t), req)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", res.StatusCode)
	}
	if strings.Contains(page, "elsewhere.example") || !strings.Contains(page, `href="/?lang=pl"`) {
		t.Fatal("a language link points off the site")
	}
}
