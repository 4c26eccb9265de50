package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// TestARefusedReplyDrainsItsBodyAndClosesTheConnection covers the refusal
// of a staff reply whose attachment list is malformed: the one branch
// that once forgot to refuse the rest of the body by hand. Now bodyFraming
// does it for every refusal: the client can send a large remainder and
// still read the answer, and the connection is closed after it.
func TestARefusedReplyDrainsItsBodyAndClosesTheConnection(t *testing.T) {
	ts := startServer(t, nil)
	submit(t, ts, "a report")
	c, csrf := loggedIn(t, ts, "ivy", storage.RoleCaseworker)
	_, inbox := get(t, c, ts.URL+"/staff/")
	ref := refRE.FindStringSubmatch(inbox)[1]

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", csrf)
	mw.WriteField("attachments", "1,not-a-number")
	mw.WriteField("message", "age-encryption.org/v1\n"+strings.Repeat("x", 4<<20))
	mw.Close()

	u, _ := url.Parse(ts.URL)
	var cookies []string
	for _, k := range c.Jar.Cookies(u) {
		cookies = append(cookies, k.Name+"="+k.Value)
	}
	conn, err := net.Dial("tcp", u.Host)
	must(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	written := make(chan error, 1)
	go func() {
		_, err := fmt.Fprintf(conn, "POST /staff/case/%s/reply HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			ref, u.Host, strings.Join(cookies, "; "), mw.FormDataContentType(), body.Len())
		if err == nil {
			_, err = conn.Write(body.Bytes())
		}
		written <- err
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the refused reply: %v", err)
	}
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "The attachment list is malformed.") {
		t.Fatalf("answer %d: %s", res.StatusCode, page)
	}
	if !res.Close {
		t.Error("the connection stays open after a refused body")
	}
	if err := <-written; err != nil {
		t.Errorf("the server did not read the remainder before answering: %v", err)
	}
}

// TestAnUnknownCaseIsRefusedBeforeItsBody: the case group's middleware
// answers an unknown reference with 404, for pages and uploads alike.
func TestAnUnknownCaseIsRefusedBeforeItsBody(t *testing.T) {
	ts := startServer(t, nil)
	c, csrf := loggedIn(t, ts, "jack", storage.RoleCaseworker)
	if res, _ := get(t, c, ts.URL+"/staff/case/NOPE-NOPE"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET an unknown case: %d", res.StatusCode)
	}
	res, _ := staffUpload(t, c, ts.URL+"/staff/case/NOPE-NOPE/note", csrf, [][2]string{{"note", "age-encryption.org/v1\n" + strings.Repeat("x", 1<<20)}}, nil)
	if res.StatusCode != http.StatusNotFound || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("a note on an unknown case: %d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
}
