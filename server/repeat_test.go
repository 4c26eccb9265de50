package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var formTokenRE = regexp.MustCompile(`name="form" value="([^"]+)"`)

// formToken fetches a page and returns its form's one-time token.
func formToken(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	res, page := get(t, c, u)
	m := formTokenRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET %s: status %d, no form token: %s", u, res.StatusCode, page)
	}
	return m[1]
}

func TestAFormIsAcceptedOnce(t *testing.T) {
	ts := startServer(t, nil)
	attachment := func() file { return file{"note.txt", "text/plain", strings.NewReader("evidence")} }

	t.Run("re-posting the report form (a reload of the receipt) creates no second case", func(t *testing.T) {
		tok := formToken(t, client(t), ts.URL+"/report")
		before := counts(t, ts.DB)
		body, ctype := multipartBody([][2]string{{"form", tok}, {"body", "the first time"}}, []file{attachment()})
		if res, page := post(t, client(t), ts.URL+"/report", body, ctype); res.StatusCode != http.StatusOK || !caseCodeRE.MatchString(page) {
			t.Fatalf("first post: status %d: %s", res.StatusCode, page)
		}
		after := counts(t, ts.DB)
		body, ctype = multipartBody([][2]string{{"form", tok}, {"body", "the first time"}}, []file{attachment()})
		res, page := post(t, client(t), ts.URL+"/report", body, ctype)
		if res.StatusCode != http.StatusConflict || !strings.Contains(page, "This report was already received") || caseCodeRE.MatchString(page) {
			t.Errorf("second post: status %d: %s", res.StatusCode, page)
		}
		if got := counts(t, ts.DB); got != after || after[0] != before[0]+1 {
			t.Errorf("rows before %v, after the first post %v, after the second %v", before, after, got)
		}
	})

	t.Run("the same form sent at the same time makes one case", func(t *testing.T) {
		tok := formToken(t, client(t), ts.URL+"/report")
		before := counts(t, ts.DB)
		var wg sync.WaitGroup
		statuses := make([]int, 6)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, ctype := multipartBody([][2]string{{"form", tok}, {"body", "at once"}}, []file{attachment()})
				res, _ := post(t, client(t), ts.URL+"/report", body, ctype)
				statuses[i] = res.StatusCode
			}()
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			if st == http.StatusOK {
				ok++
			} else if st != http.StatusConflict {
				t.Errorf("status %d, want 200 once and 409 for the rest", st)
			}
		}
		got := counts(t, ts.DB)
		if ok != 1 || got[0] != before[0]+1 || got[1] != before[1]+1 || got[2] != before[2]+1 {
			t.Errorf("%d receipts; rows before %v, after %v: want one case, one message, one attachment", ok, before, got)
		}
	})

	t.Run("a malformed token is refused and stores nothing", func(t *testing.T) {
		before := counts(t, ts.DB)
		body, ctype := multipartBody([][2]string{{"form", "not-a-token"}, {"body", "text"}}, []file{attachment()})
		if res, page := post(t, client(t), ts.URL+"/report", body, ctype); res.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d: %s", res.StatusCode, page)
		}
		if got := counts(t, ts.DB); got != before {
			t.Errorf("rows before %v, after %v", before, got)
		}
	})

	t.Run("re-posting a follow-up message adds it once", func(t *testing.T) {
		c := login(t, ts, submit(t, ts, "a report"))
		_, page := get(t, c, ts.URL+"/case")
		csrf := csrfOf(t, page)
		tok := formTokenRE.FindStringSubmatch(page)
		if tok == nil {
			t.Fatal("the case page's message form has no token")
		}
		before := counts(t, ts.DB)
		send := func() (*http.Response, string) {
			body, ctype := multipartBody([][2]string{{"csrf", csrf}, {"form", tok[1]}, {"body", "once only"}}, []file{attachment()})
			return post(t, c, ts.URL+"/case/message", body, ctype)
		}
		if res, page := send(); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first post: status %d: %s", res.StatusCode, page)
		}
		res, page := send()
		if res.StatusCode != http.StatusConflict || !strings.Contains(page, "This message was already received") || !strings.Contains(page, `href="/case"`) {
			t.Errorf("second post: status %d: %s", res.StatusCode, page)
		}
		if got := counts(t, ts.DB); got[1] != before[1]+1 || got[2] != before[2]+1 {
			t.Errorf("rows before %v, after %v: want one message and one attachment more", before, got)
		}
	})
}
