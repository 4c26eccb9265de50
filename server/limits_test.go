package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/candour/candour/server"
)

// zeros is an endless reader of a repeated byte, to send large bodies
// without holding them.
type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestOverLimitUploadsAreRefusedAndLeaveNothing(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *server.Config) {
		c.MaxUploadBytes = 8 << 20
		c.MaxFileBytes = 3 << 20
		c.MaxFiles = 2
		c.MaxTextChars = 1000
	})
	small := func() file {
		return file{name: "a.bin", ctype: "application/octet-stream", r: strings.NewReader("abc")}
	}
	cases := []struct {
		name   string
		fields [][2]string
		files  []file
		known  bool // send with a Content-Length (refused before reading)
	}{
		{name: "a file over the per-file limit, after chunks were stored",
			fields: [][2]string{{"body", "text"}},
			files:  []file{small(), {name: "big.bin", ctype: "application/octet-stream", r: io.LimitReader(repeat('x'), 3<<20+1)}}},
		{name: "a body over the total limit, streamed without a length",
			fields: [][2]string{{"body", "text"}},
			files: []file{{name: "1.bin", ctype: "application/octet-stream", r: io.LimitReader(repeat('x'), 3<<20)},
				{name: "2.bin", ctype: "application/octet-stream", r: io.LimitReader(repeat('y'), 3<<20)},
				{name: "3.bin", ctype: "application/octet-stream", r: io.LimitReader(repeat('z'), 3<<20)}}},
		{name: "a body over the total limit, with a length",
			fields: [][2]string{{"body", "text"}},
			files:  []file{{name: "1.bin", ctype: "application/octet-stream", r: io.LimitReader(repeat('x'), 9<<20)}},
			known:  true},
		{name: "too many files",
			fields: [][2]string{{"body", "text"}},
			files:  []file{small(), small(), small()}},
		{name: "text over its limit",
			fields: [][2]string{{"body", strings.Repeat("é", 1001)}},
			files:  []file{small()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype := multipartBody(tc.fields, tc.files)
			if tc.known {
				b, err := io.ReadAll(body)
				must(t, err)
				body = bytes.NewReader(b)
			}
			res, page := post(t, client(t), ts.URL+"/report", body, ctype)
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", res.StatusCode)
			}
			if !strings.Contains(page, "Nothing was saved") || !(strings.Contains(page, "too large") || strings.Contains(page, "too long")) {
				t.Fatalf("refusal page is not clear: %s", page)
			}
			if got := counts(t, ts.DB); got != [4]int64{} {
				t.Fatalf("rows (cases, messages, attachments, chunks) = %v, want none", got)
			}
		})
	}
	// The server is still fine afterwards.
	submit(t, ts, "after the refusals")
}

func TestMalformedUploadsAreRefusedAndLeaveNothing(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	for _, tc := range []struct{ name, ctype, body string }{
		{"no boundary", "multipart/form-data", "--x\r\n"},
		{"not multipart", "text/plain", "body=hello"},
		{"truncated", "multipart/form-data; boundary=xyz",
			"--xyz\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nhello\r\n--xyz\r\n" +
				"Content-Disposition: form-data; name=\"attachments\"; filename=\"a.txt\"\r\n\r\n" + strings.Repeat("data", 1<<18)},
		{"invalid UTF-8 text", "multipart/form-data; boundary=xyz",
			"--xyz\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n\xff\xfe\r\n--xyz--\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, page := post(t, client(t), ts.URL+"/report", strings.NewReader(tc.body), tc.ctype)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Nothing was saved") {
				t.Fatalf("status %d: %s", res.StatusCode, page)
			}
			if got := counts(t, ts.DB); got != [4]int64{} {
				t.Fatalf("rows = %v, want none", got)
			}
		})
	}
}

func TestThousandsOfPartsAreRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	var fields [][2]string
	for i := range 5000 {
		fields = append(fields, [2]string{fmt.Sprintf("f%d", i), "x"})
	}
	body, ctype := multipartBody(fields, nil)
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "too many parts") {
		t.Fatalf("5000 parts: %d", res.StatusCode)
	}
	if got := counts(t, ts.DB); got != [4]int64{} {
		t.Fatalf("rows = %v, want none", got)
	}
}

func TestHostileFileNamesAreCleaned(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	// Control characters cannot appear raw in a header; RFC 2231 encoding
	// brings them (and a path, and a right-to-left override) anyway.
	body := "--xyz\r\nContent-Disposition: form-data; name=\"attachments\"; " +
		"filename*=UTF-8''..%5C..%2F..%2Fetc%2Fpass%1B%5B31mwd%E2%80%AEtxt.exe\r\n" +
		"Content-Type: text/plain\r\n\r\nevidence\r\n--xyz--\r\n"
	res, page := post(t, client(t), ts.URL+"/report", strings.NewReader(body), "multipart/form-data; boundary=xyz")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, page)
	}
	meta, stored := storedAttachment(t, ts)
	if string(stored) != "evidence" {
		t.Fatalf("stored %q", stored)
	}
	if meta.Name != "pass_[31mwd_txt.exe" {
		t.Fatalf("stored name %q keeps a path or control character", meta.Name)
	}
}

func TestLimitErrorsSayWhatWasTooLarge(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.MaxFileBytes = 1 << 20
		c.MaxTextChars = 1000
	})
	bengali := strings.Repeat("অ", 1000) // 3,000 bytes, 1,000 characters

	t.Run("text is limited in characters, not bytes", func(t *testing.T) {
		submit(t, ts, bengali)
		body, ctype := multipartBody([][2]string{{"body", bengali + "আ"}}, nil)
		res, page := post(t, client(t), ts.URL+"/report", body, ctype)
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "Your text is too long") ||
			!strings.Contains(page, "longer than 1,000 characters") {
			t.Fatalf("status %d: %s", res.StatusCode, page)
		}
		if strings.Contains(page, "per file") {
			t.Errorf("a text refusal lists the file limits: %s", page)
		}
	})

	t.Run("a file over its limit is named", func(t *testing.T) {
		body, ctype := multipartBody([][2]string{{"body", "text"}}, []file{
			{name: "small.txt", ctype: "text/plain", r: strings.NewReader("ok")},
			{name: "../chat <export>.zip", ctype: "application/zip", r: io.LimitReader(repeat('x'), 1<<20+1)}})
		res, page := post(t, client(t), ts.URL+"/report", body, ctype)
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "chat _export_.zip") ||
			!strings.Contains(page, "per file") {
			t.Fatalf("status %d: %s", res.StatusCode, page)
		}
		if strings.Contains(page, "small.txt") || strings.Contains(page, "characters") {
			t.Errorf("the refusal names the wrong file or lists the text limit: %s", page)
		}
	})

	t.Run("an error on the case page leads back to the case", func(t *testing.T) {
		c := login(t, ts, submit(t, ts, "report"))
		_, page := get(t, c, ts.URL+"/case")
		body, ctype := multipartBody([][2]string{{"csrf", csrfOf(t, page)}, {"body", bengali + "আ"}}, nil)
		res, page := post(t, c, ts.URL+"/case/message", body, ctype)
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, `<a href="/case">Back to your case</a>`) {
			t.Fatalf("status %d: %s", res.StatusCode, page)
		}
		// Without a session there is no case to go back to.
		body, ctype = multipartBody([][2]string{{"body", bengali + "আ"}}, nil)
		if _, page := post(t, client(t), ts.URL+"/report", body, ctype); strings.Contains(page, "Back to your case") {
			t.Errorf("a report's error offers a case: %s", page)
		}
	})
}
