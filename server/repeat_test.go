package server_test

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
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

	codeOf := func(page string) string {
		m := caseCodeRE.FindStringSubmatch(page)
		if m == nil {
			return ""
		}
		return strings.TrimSpace(m[1])
	}

	t.Run("re-posting the report form (a reload of the receipt) shows the same receipt and creates no second case", func(t *testing.T) {
		tok := formToken(t, client(t), ts.URL+"/report")
		before := counts(t, ts.DB)
		body, ctype := multipartBody([][2]string{{"form", tok}, {"body", "the first time"}}, []file{attachment()})
		res, page := post(t, client(t), ts.URL+"/report", body, ctype)
		code := codeOf(page)
		if res.StatusCode != http.StatusOK || code == "" {
			t.Fatalf("first post: status %d: %s", res.StatusCode, page)
		}
		after := counts(t, ts.DB)
		body, ctype = multipartBody([][2]string{{"form", tok}, {"body", "the first time"}}, []file{attachment()})
		res, page = post(t, client(t), ts.URL+"/report", body, ctype)
		if res.StatusCode != http.StatusOK || codeOf(page) != code || !strings.Contains(page, "<bdi>note.txt</bdi>") {
			t.Errorf("second post: status %d, want the same receipt (code %s): %s", res.StatusCode, code, page)
		}
		if got := counts(t, ts.DB); got != after || after[0] != before[0]+1 {
			t.Errorf("rows before %v, after the first post %v, after the second %v", before, after, got)
		}
	})

	t.Run("the same form sent at the same time makes one case, and every answer is its receipt", func(t *testing.T) {
		tok := formToken(t, client(t), ts.URL+"/report")
		before := counts(t, ts.DB)
		var wg sync.WaitGroup
		statuses := make([]int, 6)
		codes := make([]string, 6)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, ctype := multipartBody([][2]string{{"form", tok}, {"body", "at once"}}, []file{attachment()})
				res, page := post(t, client(t), ts.URL+"/report", body, ctype)
				statuses[i], codes[i] = res.StatusCode, codeOf(page)
			}()
		}
		wg.Wait()
		for i, st := range statuses {
			if st != http.StatusOK || codes[i] == "" || codes[i] != codes[0] {
				t.Errorf("answer %d: status %d, code %q; want 200 with the first answer's code %q", i, st, codes[i], codes[0])
			}
		}
		got := counts(t, ts.DB)
		if got[0] != before[0]+1 || got[1] != before[1]+1 || got[2] != before[2]+1 {
			t.Errorf("rows before %v, after %v: want one case, one message, one attachment", before, got)
		}
	})

	t.Run("once the receipt is no longer held, a re-post keeps its text in a fresh form to send as a new report", func(t *testing.T) {
		tok := formToken(t, client(t), ts.URL+"/report")
		const text = "the inspector's <messages> in the group"
		body, ctype := multipartBody([][2]string{{"form", tok}, {"q_force", "Kent & <Medway>"}, {"q_traced", "Yes"}, {"body", text}, {"keep_originals", "yes"}}, []file{attachment()})
		res, page := post(t, client(t), ts.URL+"/report", body, ctype)
		first := codeOf(page)
		if res.StatusCode != http.StatusOK || first == "" {
			t.Fatalf("first post: status %d: %s", res.StatusCode, page)
		}
		ts.Clock.Add(int64(11 * time.Minute))
		before := counts(t, ts.DB)
		body, ctype = multipartBody([][2]string{{"form", tok}, {"q_force", "Kent & <Medway>"}, {"q_traced", "Yes"}, {"body", text}, {"keep_originals", "yes"}}, []file{attachment()})
		res, page = post(t, client(t), ts.URL+"/report", body, ctype)
		if res.StatusCode != http.StatusConflict || codeOf(page) != "" {
			t.Fatalf("re-post: status %d: %s", res.StatusCode, page)
		}
		for _, want := range []string{"This report was already received", "do not send it again",
			"\n" + html.EscapeString(text) + "</textarea>", `<li class="file-name"><bdi>note.txt</bdi></li>`,
			"Send as a new report", `id="keep_originals" checked`,
			`value="Kent &amp; &lt;Medway&gt;"`, `value="Yes" checked`} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %q: %s", want, page)
			}
		}
		fresh := formTokenRE.FindStringSubmatch(page)
		if fresh == nil || fresh[1] == tok {
			t.Fatalf("the page has no fresh form token: %s", page)
		}
		if got := counts(t, ts.DB); got != before {
			t.Errorf("rows before %v, after %v: the re-post stored something", before, got)
		}
		// The reporter chooses to send it as a new report.
		body, ctype = multipartBody([][2]string{{"form", fresh[1]}, {"body", text}}, nil)
		res, page = post(t, client(t), ts.URL+"/report", body, ctype)
		if res.StatusCode != http.StatusOK || codeOf(page) == "" || codeOf(page) == first {
			t.Errorf("sent as a new report: status %d: %s", res.StatusCode, page)
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
