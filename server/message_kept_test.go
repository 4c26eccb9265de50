package server_test

import (
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
)

func TestAMessageOutlivesItsSession(t *testing.T) {
	ts := startServer(t, nil)
	code := submit(t, ts, "the report")
	c := login(t, ts, code)
	_, page := get(t, c, ts.URL+"/case")
	csrf := csrfOf(t, page)
	tok := formTokenRE.FindStringSubmatch(page)[1]

	// The reporter writes for longer than the session lasts.
	ts.Clock.Add(int64(16 * time.Minute))
	const text = "Written slowly: সে আমাকে হুমকি দিয়েছিল <b>twice</b>"
	before := counts(t, ts.DB)
	body, ctype := multipartBody([][2]string{{"csrf", csrf}, {"form", tok}, {"body", text}, {"keep_originals", "yes"}},
		[]file{{"../../rota <march>.pdf", "application/pdf", strings.NewReader("%PDF-1.4 not really")},
			{"chat.txt", "text/plain", strings.NewReader(strings.Repeat("x", 100<<10))}})
	res, page := post(t, c, ts.URL+"/case/message", body, ctype)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a message after the session ended: status %d: %s", res.StatusCode, page)
	}
	kept := func(what, page string) {
		t.Helper()
		for _, want := range []string{
			`enctype="multipart/form-data"`, `name="code"`,
			"\n" + html.EscapeString(text) + "</textarea>",
			`name="form" value="` + tok + `"`,
			`<li class="file-name"><bdi>rota _march_.pdf</bdi></li>`, `<li class="file-name"><bdi>chat.txt</bdi></li>`,
			`name="attachments"`, `checked`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the page lacks %q:\n%s", what, want, page)
			}
		}
		if got := counts(t, ts.DB); got != before {
			t.Errorf("%s: rows before %v, after %v: nothing may be stored", what, before, got)
		}
	}
	kept("session ended", page)
	if !strings.Contains(page, "Your session ended before your message was sent") {
		t.Errorf("the page does not say what happened: %s", page)
	}

	sendWith := func(code string) (*http.Response, string) {
		body, ctype := multipartBody([][2]string{{"code", code}, {"form", tok}, {"body", text}, {"keep_originals", "yes"}},
			[]file{{"rota.pdf", "application/octet-stream", strings.NewReader("the rota, chosen again")}})
		return post(t, client(t), ts.URL+"/followup", body, ctype)
	}

	// A wrong code gets the usual refusal, and the message is kept again
	// (the file chosen again is named again).
	res, page = sendWith("0000-0000-0000-0000-0000")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "We could not open a case with that code") {
		t.Fatalf("wrong code: status %d: %s", res.StatusCode, page)
	}
	if !strings.Contains(page, `value="0000-0000-0000-0000-0000"`) {
		t.Error("the refusal does not keep the typed code")
	}
	if len(res.Cookies()) != 0 {
		t.Error("a refused code set a cookie")
	}
	before = counts(t, ts.DB)
	if !strings.Contains(page, "\n"+html.EscapeString(text)+"</textarea>") || !strings.Contains(page, `<li class="file-name"><bdi>rota.pdf</bdi></li>`) {
		t.Errorf("the refusal lost the message: %s", page)
	}

	// The right code opens the case and sends the message in one step.
	jar := client(t)
	body, ctype = multipartBody([][2]string{{"code", code}, {"form", tok}, {"body", text}},
		[]file{{"rota.pdf", "application/octet-stream", strings.NewReader("the rota, chosen again")}})
	res, page = post(t, jar, ts.URL+"/followup", body, ctype)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/case?sent=1" {
		t.Fatalf("right code: status %d, Location %q: %s", res.StatusCode, res.Header.Get("Location"), page)
	}
	if got := counts(t, ts.DB); got[1] != before[1]+1 || got[2] != before[2]+1 {
		t.Errorf("rows before %v, after %v: want one message and one attachment more", before, got)
	}
	_, page = get(t, jar, ts.URL+"/case")
	if !strings.Contains(page, html.EscapeString(text)) || !strings.Contains(page, "rota.pdf") {
		t.Errorf("the case does not show the message: %s", page)
	}

	// Sending that form again (a reload) adds nothing.
	res, page = sendWith(code)
	if res.StatusCode != http.StatusConflict {
		t.Errorf("the same form again: status %d: %s", res.StatusCode, page)
	}
}

func TestAKeptMessageSurvivesABusyService(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.SubmissionsPerMinute = 1 })
	code := submit(t, ts, "the report") // spends the budget
	before := counts(t, ts.DB)
	body, ctype := multipartBody([][2]string{{"code", code}, {"body", "kept through a busy minute"}},
		[]file{{"photo.jpg", "image/jpeg", strings.NewReader("not really")}})
	res, page := post(t, client(t), ts.URL+"/followup", body, ctype)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", res.StatusCode, page)
	}
	for _, want := range []string{"\nkept through a busy minute</textarea>", `<li class="file-name"><bdi>photo.jpg</bdi></li>`, `value="` + code + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the busy page lacks %q: %s", want, page)
		}
	}
	if len(res.Cookies()) != 0 {
		t.Error("a login whose message was not taken set a cookie")
	}
	if got := counts(t, ts.DB); got != before {
		t.Errorf("rows before %v, after %v", before, got)
	}
}
