package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
)

var statusLine = regexp.MustCompile(`HTTP/1\.[01] (\d{3}) `)

// exchange sends raw on a new connection in one write and reads until the
// server closes it, returning the statuses of the answers it sent. The
// test fails if the server keeps the connection open.
func exchange(t *testing.T, ts *testServer, raw string) []string {
	t.Helper()
	conn := dial(t, ts)
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprint(conn, raw); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, m := range statusLine.FindAllStringSubmatch(closedByServerOrFail(t, conn), -1) {
		statuses = append(statuses, m[1])
	}
	return statuses
}

// closedByServerOrFail is closedByServer with whatever deadline conn has.
func closedByServerOrFail(t *testing.T, conn net.Conn) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		b.WriteString(string(buf[:n]))
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the server kept the connection open; it sent:\n%s", b.String())
			}
			return b.String()
		}
	}
}

// A request whose body holds another request must never get that second
// request answered: with both Transfer-Encoding and Content-Length, or a
// transfer coding the server does not know, the request is answered (here
// refused) once and the connection closed (RFC 9112 §6.1, §6.3).
func TestAmbiguousFramingIsAnsweredOnceAndClosed(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	const smuggled = "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	request := func(method, path, proto string, headers ...string) string {
		return method + " " + path + " " + proto + "\r\nHost: x\r\n" +
			"Content-Type: application/x-www-form-urlencoded\r\n" +
			strings.Join(headers, "\r\n") + "\r\n\r\n" + smuggled
	}
	cl := fmt.Sprintf("Content-Length: %d", len(smuggled))

	// The harness itself: two well-framed requests get two answers.
	if got := exchange(t, ts, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); len(got) != 2 {
		t.Fatalf("two pipelined requests got %v, want two answers", got)
	}

	for _, tc := range []struct {
		name, raw, status string
	}{
		{"POST, Content-Length and chunked", request("POST", "/followup", "HTTP/1.1", cl, "Transfer-Encoding: chunked"), "400"},
		{"POST, chunked and Content-Length", request("POST", "/followup", "HTTP/1.1", "Transfer-Encoding: chunked", cl), "400"},
		{"GET, Content-Length and chunked", request("GET", "/", "HTTP/1.1", cl, "Transfer-Encoding: chunked"), "400"},
		{"staff, Content-Length and chunked", request("POST", "/staff/login", "HTTP/1.1", cl, "Transfer-Encoding: chunked"), "400"},
		{"Content-Length and xchunked", request("POST", "/followup", "HTTP/1.1", cl, "Transfer-Encoding: xchunked"), "400"},
		{"Content-Length and Chunked", request("POST", "/followup", "HTTP/1.1", cl, "Transfer-Encoding: Chunked"), "400"},
		{"Content-Length and ' chunked'", request("POST", "/followup", "HTTP/1.1", cl, "Transfer-Encoding:  chunked"), "400"},
		{"Content-Length and 'chunked, identity'", request("POST", "/followup", "HTTP/1.1", cl, "Transfer-Encoding: chunked, identity"), "400"},
		{"Content-Length and identity", request("POST", "/followup", "HTTP/1.1", cl, "Transfer-Encoding: identity"), "400"},
		{"xchunked", request("POST", "/followup", "HTTP/1.1", "Transfer-Encoding: xchunked"), "501"},
		{"chunked, identity", request("POST", "/followup", "HTTP/1.1", "Transfer-Encoding: chunked, identity"), "501"},
		{"identity", request("POST", "/followup", "HTTP/1.1", "Transfer-Encoding: identity"), "501"},
		{"gzip, chunked", request("POST", "/followup", "HTTP/1.1", "Transfer-Encoding: gzip, chunked"), "501"},
		{"chunked twice", request("POST", "/followup", "HTTP/1.1", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), "400"},
		{"empty coding", request("POST", "/followup", "HTTP/1.1", "Transfer-Encoding: chunked,"), "400"},
		{"chunked over HTTP/1.0", request("POST", "/followup", "HTTP/1.0", "Connection: keep-alive", "Transfer-Encoding: chunked"), "400"},
		{"two different lengths", request("POST", "/followup", "HTTP/1.1", "Content-Length: 0", cl), "400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, ts, tc.raw)
			if len(got) != 1 || got[0] != tc.status {
				t.Fatalf("answers %v, want exactly one, %s, then the connection closed", got, tc.status)
			}
		})
	}
}

// A request whose declared length is over the limit for its kind is
// refused as soon as its headers arrive, before any of its body is sent,
// without taking an upload slot; the connection is closed.
func TestDeclaredLengthOverLimitIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *server.Config) { c.MaxUploadBytes = 4 << 20 })
	multipart := "Content-Type: multipart/form-data; boundary=XX\r\n"
	for _, tc := range []struct{ name, head string }{
		{"report", "POST /report HTTP/1.1\r\nHost: x\r\n" + multipart + "Content-Length: 4194305\r\n\r\n"},
		{"report, huge", "POST /report HTTP/1.1\r\nHost: x\r\n" + multipart + "Content-Length: 1099511627776\r\n\r\n"},
		{"message", "POST /case/message HTTP/1.1\r\nHost: x\r\n" + multipart + "Content-Length: 4194305\r\n\r\n"},
		{"staff upload", "POST /staff/case/x/attachment HTTP/1.1\r\nHost: x\r\n" + multipart + "Content-Length: 4194305\r\n\r\n"},
		{"report, expecting 100-continue", "POST /report HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + multipart + "Content-Length: 4194305\r\n\r\n"},
		{"small form", "POST /followup HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1048576\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dial(t, ts)
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := fmt.Fprint(conn, tc.head); err != nil {
				t.Fatal(err)
			}
			// Only the headers were sent: the answer must come now.
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer to the headers alone: %v", err)
			}
			if n := server.UploadsInProgress(ts.Srv); n != 0 {
				t.Errorf("%d upload slots taken by a refused request", n)
			}
			body := make([]byte, 64<<10)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
				t.Fatalf("status %d, close %v; want 413 and the connection closed", resp.StatusCode, resp.Close)
			}
			if !strings.Contains(string(body[:n]), "too large") {
				t.Errorf("the refusal does not explain itself:\n%s", body[:n])
			}
			if rest := closedByServerOrFail(t, conn); strings.Contains(rest, "HTTP/1.1") {
				t.Errorf("a second answer followed:\n%s", rest)
			}
		})
	}
}
