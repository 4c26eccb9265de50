package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/crypto"
)

func TestReportIsEncryptedToOrganisationAndReadableWithCode(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	evidence := make([]byte, 3<<20+12345) // several chunks
	rand.Read(evidence)
	code := submit(t, ts, "PC Smith posted <script>alert(1)</script> in the team chat",
		file{name: "../../etc/chat export.png", ctype: "image/png", r: bytes.NewReader(evidence)})

	if len(strings.ReplaceAll(code, "-", "")) != 20 {
		t.Fatalf("case code %q: want 20 symbols", code)
	}

	// Staff side: the stored message and attachment open with the
	// organisation's key, and hold what was sent.
	ctx := context.Background()
	var caseID int64
	{
		cases := counts(t, ts.DB)
		if cases != [4]int64{1, 1, 1, 4} {
			t.Fatalf("rows (cases, messages, attachments, chunks) = %v, want [1 1 1 4]", cases)
		}
	}
	cs := caseOfCode(t, ts, code)
	caseID = cs.ID
	msgs, err := ts.DB.Messages(ctx, caseID)
	must(t, err)
	msg, err := crypto.OpenMessage(msgs[0].Ciphertext, ts.OrgKey)
	must(t, err)
	if !strings.Contains(msg.Text, "PC Smith") || len(msg.Attachments) != 1 {
		t.Fatalf("message = %+v", msg)
	}
	att := msg.Attachments[0]
	sum := sha256.Sum256(evidence)
	// Random bytes are no format the cleaner knows (whatever the claimed
	// type): stored as sent, hashed once, so no second "original" hash.
	if att.Name != "chat export.png" || att.Type != "image/png" || att.Size != int64(len(evidence)) ||
		att.SHA256 != hex.EncodeToString(sum[:]) || att.OriginalSHA256 != "" || att.Cleaned {
		t.Fatalf("attachment metadata = %+v", att)
	}
	_, r, err := ts.DB.Attachment(ctx, att.ID)
	must(t, err)
	if got := decryptAll(t, r, ts.OrgKey); !bytes.Equal(got, evidence) {
		t.Fatal("attachment does not decrypt to the evidence sent")
	}

	// Reporter side: the code, typed in lower case with spaces, opens the
	// case page, which shows the text escaped, never as HTML.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	c := login(t, ts, typed)
	res, page := get(t, c, ts.URL+"/case")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("case page: %d", res.StatusCode)
	}
	if !strings.Contains(page, "PC Smith posted &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("case page does not show the escaped report text: %s", page)
	}
	if strings.Contains(page, "<script>") {
		t.Fatal("case page contains report text as HTML")
	}
	// The reporter can download their own file back.
	res, body := get(t, c, ts.URL+"/case/attachment/"+strconv.FormatInt(att.ID, 10))
	if res.StatusCode != http.StatusOK || body != string(evidence) {
		t.Fatalf("download: status %d, %d bytes", res.StatusCode, len(body))
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "chat export.png") {
		t.Fatalf("download Content-Disposition = %q", cd)
	}
}

var codeInputRE = regexp.MustCompile(`<input type="text" name="code" id="code"(?: value="([^"]*)")?[^>]*>`)

func TestWrongAndMalformedCodesAreRefusedIdentically(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	code := submit(t, ts, "a report")
	valid, err := crypto.NewCaseCode()
	must(t, err)
	var first string
	for i, attempt := range []string{
		valid.Display(),            // well-formed, no such case
		code[:len(code)-1] + "Z",   // one symbol off (or the same if it ended in Z: then another)
		"not a code",               // malformed
		"",                         // empty
		strings.Repeat("A", 1000),  // over-long
		"UUUU-UUUU-UUUU-UUUU-UUUU", // invalid symbol
	} {
		if attempt == code {
			continue
		}
		res, body := post(t, client(t), ts.URL+"/followup",
			strings.NewReader(url.Values{"code": {attempt}}.Encode()), "application/x-www-form-urlencoded")
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("attempt %d: status %d, want 403: %s", i, res.StatusCode, body)
		}
		if res.Header.Get("Set-Cookie") != "" {
			t.Fatalf("attempt %d: a refused login set a cookie", i)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("attempt %d: Cache-Control %q: the typed code must not be kept", i, cc)
		}
		// The typed code is echoed, so that a typo can be corrected; the
		// rest of the page is the same whatever was wrong.
		m := codeInputRE.FindStringSubmatch(body)
		if m == nil || m[1] != html.EscapeString(attempt) && !(len(attempt) > 100 && m[1] == attempt[:100]) {
			t.Fatalf("attempt %d: the code input does not hold what was typed: %v", i, m)
		}
		body = codeInputRE.ReplaceAllString(body, "CODE")
		if first == "" {
			first = body
		} else if body != first {
			t.Fatalf("attempt %d: refusal differs from the first one", i)
		}
	}
	if !strings.Contains(first, "could not open a case with that code") {
		t.Fatalf("refusal page does not say what happened: %s", first)
	}
}

func TestReporterAddsMessageWithFile(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	code := submit(t, ts, "first report")
	c := login(t, ts, code)
	_, page := get(t, c, ts.URL+"/case")
	token := csrfOf(t, page)

	body, ctype := multipartBody([][2]string{{"csrf", token}, {"body", "here is more: the chat export"}},
		[]file{{name: "export.txt", ctype: "text/plain", r: strings.NewReader("[12:01] PC X: ...")}})
	res, _ := post(t, c, ts.URL+"/case/message", body, ctype)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/case?sent=1" {
		t.Fatalf("add message: status %d, location %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, page = get(t, c, ts.URL+"/case?sent=1")
	for _, want := range []string{"first report", "here is more: the chat export", "export.txt", "has been received"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	if got := counts(t, ts.DB); got != [4]int64{1, 2, 1, 1} {
		t.Fatalf("rows = %v, want [1 2 1 1]", got)
	}
}

func TestMessageWithoutValidCSRFIsRefusedAndStoresNothing(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	code := submit(t, ts, "first report")
	c := login(t, ts, code)
	for name, fields := range map[string][][2]string{
		"no token":         {{"body", "x"}},
		"wrong token":      {{"csrf", "forged"}, {"body", "x"}},
		"token after body": {{"body", "x"}, {"csrf", "forged"}},
	} {
		t.Run(name, func(t *testing.T) {
			body, ctype := multipartBody(fields, []file{{name: "a.txt", ctype: "text/plain", r: strings.NewReader("data")}})
			res, _ := post(t, c, ts.URL+"/case/message", body, ctype)
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", res.StatusCode)
			}
			if got := counts(t, ts.DB); got != [4]int64{1, 1, 0, 0} {
				t.Fatalf("rows = %v, want [1 1 0 0]", got)
			}
		})
	}
	// And without a session at all.
	body, ctype := multipartBody([][2]string{{"csrf", "x"}, {"body", "x"}}, nil)
	res, _ := post(t, client(t), ts.URL+"/case/message", body, ctype)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("no session: status %d, want 403", res.StatusCode)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := login(t, ts, submit(t, ts, "r"))
	_, page := get(t, c, ts.URL+"/case")
	res, _ := post(t, c, ts.URL+"/case/logout", strings.NewReader(url.Values{"csrf": {csrfOf(t, page)}}.Encode()),
		"application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	res, _ = get(t, c, ts.URL+"/case")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/followup" {
		t.Fatalf("after logout /case: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestEmptyReportIsRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	body, ctype := multipartBody([][2]string{{"body", "   \r\n "}}, []file{{name: "", ctype: "application/octet-stream", r: strings.NewReader("")}})
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Nothing was saved") {
		t.Fatalf("status %d: %s", res.StatusCode, page)
	}
	if got := counts(t, ts.DB); got != [4]int64{} {
		t.Fatalf("rows = %v, want none", got)
	}
}
