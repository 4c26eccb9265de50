package server_test

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// Console exports that are not read (a slow or stalled download) hold a
// database snapshot each: at most two run at once, one per staff member,
// and the rest of the service keeps answering meanwhile. Once one has
// been sent, another may start.
func TestConsoleExportsAreBoundedSoTheServiceKeepsAnswering(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	// An attachment larger than the sockets' buffers, so that an unread
	// download cannot finish.
	big := make([]byte, 24<<20)
	_, err := rand.Read(big)
	must(t, err)
	res, page := sendReport(t, ts, [][2]string{{"channel", "1"}, {"body", "evidence"}},
		file{name: "a.bin", ctype: "application/octet-stream", r: strings.NewReader(string(big))})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d %.300s", res.StatusCode, page)
	}
	cs, _ := newestCase(t, ts)
	export := func(c *http.Client, csrf string) *http.Response {
		t.Helper()
		v := url.Values{"csrf": {csrf}, "case": {cs.Ref}}
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/staff/export", strings.NewReader(v.Encode()))
		must(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r, err := c.Do(req)
		must(t, err)
		return r
	}
	refused := func(r *http.Response, why string) {
		t.Helper()
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "Another export is being sent") {
			t.Errorf("%s: %d %.300s", why, r.StatusCode, body)
		}
	}
	cora, coraCSRF := loggedIn(t, ts, "cora", storage.RoleCaseworker)
	dan, danCSRF := loggedIn(t, ts, "dan", storage.RoleCaseworker)
	eve, eveCSRF := loggedIn(t, ts, "eve", storage.RoleCaseworker)

	first := export(cora, coraCSRF) // never read, until below
	if first.StatusCode != http.StatusOK {
		t.Fatalf("first export: %d", first.StatusCode)
	}
	refused(export(cora, coraCSRF), "a second export by the same caseworker")
	second := export(dan, danCSRF)
	if second.StatusCode != http.StatusOK {
		t.Fatalf("second export: %d", second.StatusCode)
	}
	defer second.Body.Close()
	refused(export(eve, eveCSRF), "a third export at once")

	// The rest of the service answers meanwhile (a starved reader pool
	// would leave these waiting until the client gives up).
	for _, u := range []string{"/staff/", "/staff/case/" + cs.Ref} {
		if r, _ := get(t, eve, ts.URL+u); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s while two exports are held: %d", u, r.StatusCode)
		}
	}
	if r, _ := get(t, client(t), ts.URL+"/report"); r.StatusCode != http.StatusOK {
		t.Errorf("the report form while two exports are held: %d", r.StatusCode)
	}

	// Cora's download is read to its end: her slot is free again, and eve
	// may export (polled: the slot is released once the zip has gone).
	n, err := io.Copy(io.Discard, first.Body)
	must(t, err)
	first.Body.Close()
	if n < int64(len(big)) {
		t.Fatalf("the first export held %d bytes", n)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := export(eve, eveCSRF)
		if r.StatusCode == http.StatusOK {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			break
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("after an export was sent, another is still refused: %d", r.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
