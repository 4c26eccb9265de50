package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// reportForm is a whole report form with a token, as a browser sends it.
func reportForm(tok, text string, file []byte) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("form", tok)
	mw.WriteField("body", text)
	if file != nil {
		fw, _ := mw.CreateFormFile("attachments", "evidence.bin")
		fw.Write(file)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// sendRaw starts a POST /report on a connection of its own with the first
// n bytes of body, and returns the connection.
func sendRaw(t *testing.T, ts *testServer, body []byte, ctype string, n int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ctype, len(body))
	_, err = conn.Write(body[:n])
	must(t, err)
	return conn
}

func waitForCases(t *testing.T, ts *testServer, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for counts(t, ts.DB)[0] != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d cases stored, want %d", counts(t, ts.DB)[0], n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A reporter double-clicks "Send report" (or Tor Browser's "Try again"
// after a slow circuit): the browser abandons the first request, whose
// whole body the server has and stores, and shows only the answer to the
// second. That answer is the first one's receipt: the case code of the one
// case stored, which opens it.
func TestADoubleClickedReportShowsTheCodeOfTheCaseItMade(t *testing.T) {
	ts := startServer(t, nil)
	tok := formToken(t, client(t), ts.URL+"/report")
	body, ctype := reportForm(tok, "what I saw on the night shift", nil)
	before := counts(t, ts.DB)

	// First click: the whole request goes out, then the browser drops it.
	sendRaw(t, ts, body, ctype, len(body)).Close()
	waitForCases(t, ts, before[0]+1)

	// Second click: the page the reporter sees.
	res, page := post(t, client(t), ts.URL+"/report", bytes.NewReader(body), ctype)
	m := caseCodeRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("the only answer the reporter saw has no case code (status %d): %s", res.StatusCode, page)
	}
	if got := counts(t, ts.DB); got[0] != before[0]+1 {
		t.Errorf("%d cases more, want 1", got[0]-before[0])
	}
	_, page = get(t, login(t, ts, strings.TrimSpace(m[1])), ts.URL+"/case")
	if !strings.Contains(page, "what I saw on the night shift") {
		t.Errorf("the code shown does not open the case that was stored: %s", page)
	}
}

// A repeat that arrives while the first attempt is still being received
// waits for it: when the first is stored, both answers are its receipt.
func TestARepeatWaitsForTheFirstAttemptAndGetsItsReceipt(t *testing.T) {
	ts := startServer(t, nil)
	tok := formToken(t, client(t), ts.URL+"/report")
	body, ctype := reportForm(tok, "sent twice at once", bytes.Repeat([]byte("e"), 256<<10))
	before := counts(t, ts.DB)

	first := sendRaw(t, ts, body, ctype, len(body)-100<<10)
	time.Sleep(200 * time.Millisecond) // the first has read its token
	type answer struct {
		status int
		page   string
	}
	second := make(chan answer, 1)
	go func() {
		res, page := post(t, client(t), ts.URL+"/report", bytes.NewReader(body), ctype)
		second <- answer{res.StatusCode, page}
	}()
	time.Sleep(200 * time.Millisecond)
	if got := counts(t, ts.DB); got[0] != before[0] {
		t.Fatal("a case was stored before the first attempt was complete")
	}
	_, err := first.Write(body[len(body)-100<<10:])
	must(t, err)
	res, err := http.ReadResponse(bufio.NewReader(first), nil)
	must(t, err)
	b, _ := io.ReadAll(res.Body)
	a := <-second
	m1, m2 := caseCodeRE.FindStringSubmatch(string(b)), caseCodeRE.FindStringSubmatch(a.page)
	if res.StatusCode != http.StatusOK || a.status != http.StatusOK || m1 == nil || m2 == nil || m1[1] != m2[1] {
		t.Errorf("first: status %d, second: status %d; want both to show the same case code:\n%s\n%s", res.StatusCode, a.status, b, a.page)
	}
	if got := counts(t, ts.DB); got[0] != before[0]+1 {
		t.Errorf("%d cases more, want 1", got[0]-before[0])
	}
}

// A repeat that arrives while the first attempt is in flight, which then
// fails (the browser cut it off mid-file), is taken as the report: the
// first stored nothing and did not use the token.
func TestARepeatOfAFailedFirstAttemptIsTheReport(t *testing.T) {
	ts := startServer(t, nil)
	tok := formToken(t, client(t), ts.URL+"/report")
	body, ctype := reportForm(tok, "the first attempt is cut off", bytes.Repeat([]byte("e"), 256<<10))
	before := counts(t, ts.DB)

	first := sendRaw(t, ts, body, ctype, len(body)-100<<10)
	time.Sleep(200 * time.Millisecond)
	type answer struct {
		status int
		page   string
	}
	second := make(chan answer, 1)
	go func() {
		res, page := post(t, client(t), ts.URL+"/report", bytes.NewReader(body), ctype)
		second <- answer{res.StatusCode, page}
	}()
	time.Sleep(200 * time.Millisecond)
	first.Close()
	var a answer
	select {
	case a = <-second:
	case <-time.After(time.Minute):
		t.Fatal("the repeat is still waiting after the first attempt failed")
	}
	m := caseCodeRE.FindStringSubmatch(a.page)
	if a.status != http.StatusOK || m == nil {
		t.Fatalf("status %d: %s", a.status, a.page)
	}
	if got := counts(t, ts.DB); got[0] != before[0]+1 || got[2] != before[2]+1 {
		t.Errorf("rows before %v, after %v: want one case with its attachment", before, got)
	}
}
