package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
)

// A kept message sent with its code while every Argon2id slot is taken (a
// flood of wrong codes) is kept again, with the code, as when the upload
// slots or the budget are full: it is not dropped on a bare busy page.
func TestAKeptMessageSurvivesABusyKeyDerivationPool(t *testing.T) {
	ts := startServer(t, nil)
	server.CountRefusalsExactly(ts.Srv)
	code := submit(t, ts, "the report")
	defer server.HoldCaseKDF(ts.Srv, 100*time.Millisecond)()
	before := counts(t, ts.DB)
	body, ctype := multipartBody([][2]string{{"code", code}, {"body", "three pages written after my session ended"}},
		[]file{{"notes.txt", "text/plain", strings.NewReader("my notes")}})
	res, page := post(t, client(t), ts.URL+"/followup", body, ctype)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", res.StatusCode, page)
	}
	for _, want := range []string{"\nthree pages written after my session ended</textarea>",
		`<li class="file-name"><bdi>notes.txt</bdi></li>`, `value="` + code + `"`, "Too many people are using the service right now"} {
		if !strings.Contains(page, want) {
			t.Errorf("the busy page lacks %q: %s", want, page)
		}
	}
	if len(res.Cookies()) != 0 {
		t.Error("a login that was not checked set a cookie")
	}
	server.CloseRefusalInterval(ts.Srv)
	b := scrapeMetrics(t, ts.Srv)
	if !strings.Contains(b, `kind="busy"} 1`) {
		t.Errorf("the busy answer is not counted once:\n%s", b)
	}
	if got := counts(t, ts.DB); got != before {
		t.Errorf("rows before %v, after %v", before, got)
	}
}

// With every keep slot taken, a message posted without a session has only
// its text read: the page says its files were not read, and the answer
// comes without waiting for the 50 MiB file, on a connection that closes.
func TestAKeptMessageReadsNoFilesWhenKeepSlotsAreFull(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxConcurrentUploads = 1; c.BodyIdleTimeout = 30 * time.Second })
	defer server.FillKeepSlots(ts.Srv)()

	const text = "what they said in the group chat"
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.WriteField("body", text)
	_, err := mw.CreateFormFile("attachments", "big.bin")
	must(t, err)
	const fileSize = 50 << 20
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	must(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "POST /case/message HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		mw.FormDataContentType(), head.Len()+fileSize+len(tail))
	_, err = conn.Write(head.Bytes())
	must(t, err)
	// Send the first MiB of the file only (more than the server drains),
	// and wait for the answer: a server reading the whole file would wait
	// for the other 49.
	go conn.Write(make([]byte, 1<<20))
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the file was sent: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	page := string(b)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "\n"+html.EscapeString(text)+"</textarea>") {
		t.Fatalf("status %d: the text is not kept: %s", res.StatusCode, page)
	}
	if !strings.Contains(page, "so their names are not listed") || strings.Contains(page, "big.bin") {
		t.Errorf("the page does not say that the files were not read: %s", page)
	}
	if !res.Close {
		t.Error("the connection is kept open with the rest of the body unread")
	}
}

// With a keep slot free (the usual case), the file names are listed.
func TestAKeptMessageListsItsFilesWhenAKeepSlotIsFree(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxConcurrentUploads = 1 })
	body, ctype := multipartBody([][2]string{{"body", "late"}}, []file{{"photo.jpg", "image/jpeg", strings.NewReader("x")}})
	res, page := post(t, client(t), ts.URL+"/case/message", body, ctype)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, `<li class="file-name"><bdi>photo.jpg</bdi></li>`) {
		t.Errorf("status %d: %s", res.StatusCode, page)
	}
}

// A kept message over the text limit is refused once: counted as too
// large, not also as a session that ended.
func TestAKeptMessageOverTheLimitIsCountedOnce(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxTextChars = 10 })
	server.CountRefusalsExactly(ts.Srv)
	body, ctype := multipartBody([][2]string{{"body", strings.Repeat("x", 11)}}, nil)
	if res, page := post(t, client(t), ts.URL+"/case/message", body, ctype); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", res.StatusCode, page)
	}
	body, ctype = multipartBody([][2]string{{"code", "0000-0000-0000-0000-0000"}, {"body", strings.Repeat("x", 11)}}, nil)
	if res, page := post(t, client(t), ts.URL+"/followup", body, ctype); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", res.StatusCode, page)
	}
	server.CloseRefusalInterval(ts.Srv)
	b := scrapeMetrics(t, ts.Srv)
	for _, want := range []string{`kind="too_large"} 2`, `kind="session_ended"} 0`, `kind="wrong_code"} 0`} {
		if !strings.Contains(b, want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

// A right code with an empty message, or one whose upload fails, opens no
// session: no unwrapped case key is left in a session nobody uses.
func TestAFailedMessageWithTheCodeOpensNoSession(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxFileBytes = 10 })
	code := submit(t, ts, "the report")
	for _, tc := range []struct {
		name   string
		fields [][2]string
		files  []file
		status int
		want   string
	}{
		{"empty", [][2]string{{"code", code}, {"body", ""}}, nil, http.StatusBadRequest, "Your message is empty"},
		// The file's name is isolated from the sentence's direction.
		{"file too large", [][2]string{{"code", code}, {"body", "text"}}, []file{{"a.txt", "text/plain", strings.NewReader(strings.Repeat("x", 11))}},
			http.StatusRequestEntityTooLarge, "The file &#34;\u2068a.txt\u2069&#34; is larger than"},
	} {
		c := client(t)
		body, ctype := multipartBody(tc.fields, tc.files)
		res, page := post(t, c, ts.URL+"/followup", body, ctype)
		if res.StatusCode != tc.status || !strings.Contains(page, tc.want) {
			t.Errorf("%s: status %d, want %d: %s", tc.name, res.StatusCode, tc.status, page)
		}
		if len(res.Cookies()) != 0 {
			t.Errorf("%s: a session was opened", tc.name)
		}
	}
}
