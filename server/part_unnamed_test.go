package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawForm builds a multipart body by hand (boundary "xyz"), so that a part
// can carry a Content-Disposition no Go writer would produce. Each part is
// given as its Content-Disposition parameters and its content.
func rawForm(parts ...[2]string) (*strings.Reader, string) {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--xyz\r\nContent-Disposition: form-data; " + p[0] + "\r\n\r\n" + p[1] + "\r\n")
	}
	b.WriteString("--xyz--\r\n")
	return strings.NewReader(b.String()), "multipart/form-data; boundary=xyz"
}

// A file part whose Content-Disposition cannot be parsed has, for
// mime/multipart, no name and no file name. It was dropped as an unknown
// field: a report was stored without the file, and the receipt listed none.
// Whatever was sent and cannot be stored refuses the whole submission.
func TestUnreadablePartRefusesTheSubmission(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	const bad = `name="attachments"; filename="a"b.txt"`
	refused := func(t *testing.T, res *http.Response, page string, before [4]int64) {
		t.Helper()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "could not be read") ||
			!strings.Contains(page, "Nothing was saved") {
			t.Fatalf("status %d: %s", res.StatusCode, page)
		}
		if got := counts(t, ts.DB); got != before {
			t.Fatalf("rows before %v, after %v: nothing may be stored", before, got)
		}
	}

	t.Run("report", func(t *testing.T) {
		for _, size := range []int{10, 100 << 10} {
			before := counts(t, ts.DB)
			body, ctype := rawForm([2]string{`name="body"`, "the report"}, [2]string{bad, strings.Repeat("e", size)})
			res, page := post(t, client(t), ts.URL+"/report", body, ctype)
			refused(t, res, page, before)
		}
	})
	t.Run("report, a file under another name", func(t *testing.T) {
		before := counts(t, ts.DB)
		body, ctype := rawForm([2]string{`name="body"`, "the report"}, [2]string{`name="other"; filename="a.txt"`, "evidence"})
		res, page := post(t, client(t), ts.URL+"/report", body, ctype)
		refused(t, res, page, before)
	})
	t.Run("report, a part with no name", func(t *testing.T) {
		before := counts(t, ts.DB)
		body, ctype := rawForm([2]string{`name="body"`, "the report"}, [2]string{`filename="a.txt"`, "evidence"})
		res, page := post(t, client(t), ts.URL+"/report", body, ctype)
		refused(t, res, page, before)
	})

	code := submit(t, ts, "the report")
	t.Run("case message", func(t *testing.T) {
		c := login(t, ts, code)
		_, page := get(t, c, ts.URL+"/case")
		before := counts(t, ts.DB)
		body, ctype := rawForm([2]string{`name="csrf"`, csrfOf(t, page)},
			[2]string{`name="form"`, formTokenRE.FindStringSubmatch(page)[1]},
			[2]string{`name="body"`, "a message"}, [2]string{bad, "evidence"})
		res, page := post(t, c, ts.URL+"/case/message", body, ctype)
		refused(t, res, page, before)
	})
	t.Run("login with a kept message", func(t *testing.T) {
		c := login(t, ts, code)
		_, page := get(t, c, ts.URL+"/case")
		before := counts(t, ts.DB)
		body, ctype := rawForm([2]string{`name="code"`, code},
			[2]string{`name="form"`, formTokenRE.FindStringSubmatch(page)[1]},
			[2]string{`name="body"`, "a message"}, [2]string{bad, "evidence"})
		res, page := post(t, client(t), ts.URL+"/followup", body, ctype)
		refused(t, res, page, before)
	})
	t.Run("message kept after the session ended", func(t *testing.T) {
		c := login(t, ts, code)
		_, page := get(t, c, ts.URL+"/case")
		ts.Clock.Add(int64(16 * time.Minute))
		before := counts(t, ts.DB)
		body, ctype := rawForm([2]string{`name="csrf"`, csrfOf(t, page)},
			[2]string{`name="form"`, formTokenRE.FindStringSubmatch(page)[1]},
			[2]string{`name="body"`, "a kept message"}, [2]string{bad, "evidence"})
		res, page := post(t, c, ts.URL+"/case/message", body, ctype)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "a kept message</textarea>") ||
			!strings.Contains(page, "A file you chose could not be read") {
			t.Fatalf("status %d: %s", res.StatusCode, page)
		}
		if got := counts(t, ts.DB); got != before {
			t.Fatalf("rows before %v, after %v", before, got)
		}
	})
}
