package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

var (
	styleURL  = regexp.MustCompile(`<link rel="stylesheet" href="(/static/[0-9a-f]{16}/style\.css)">`)
	scriptURL = regexp.MustCompile(`<script type="module" src="(/static/[0-9a-f]{16}/staff\.js)"></script>`)
)

func TestStaticFilesAreServedUnderTheirContentHash(t *testing.T) {
	ts := startServer(t, nil)
	c := client(t)
	_, page := get(t, c, ts.URL+"/report")
	m := styleURL.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page does not link the stylesheet under a hashed URL:\n%s", page)
	}
	res, css := get(t, c, ts.URL+m[1])
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", m[1], res.StatusCode)
	}
	sum := sha256.Sum256([]byte(css))
	if want := "/static/" + hex.EncodeToString(sum[:8]) + "/style.css"; m[1] != want {
		t.Errorf("URL %s does not name the content's hash (%s)", m[1], want)
	}
	if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := res.Header.Get("Pragma"); got != "" {
		t.Errorf("a static file says Pragma: %s", got)
	}
	if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/css") {
		t.Errorf("Content-Type = %q", got)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("the static file lacks the security headers")
	}

	for _, path := range []string{
		"/static/style.css",                    // the old, unhashed URL
		"/static/0000000000000000/style.css",   // a hash that is not the file's
		strings.Replace(m[1], "style", "x", 1), // a file that does not exist under a real hash
		"/static/" + strings.TrimPrefix(m[1], "/static/")[:16],
		"/static/",
		"/static/../frontend.go",
	} {
		t.Run("not found: "+path, func(t *testing.T) {
			res, body := get(t, c, ts.URL+path)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("a miss is cacheable: Cache-Control = %q", got)
			}
			if got := res.Header.Get("Pragma"); got != "no-cache" {
				t.Errorf("a miss says Pragma: %q, want no-cache, as every other page", got)
			}
			if strings.Contains(body, "font-family") || strings.Contains(body, "age-encryption") {
				t.Error("a miss served a static file's content")
			}
		})
	}
}

func TestStaffCasePageLoadsTheConsoleScriptByHash(t *testing.T) {
	if !frontend.ConsolePresent() {
		t.Skip("this build has no staff console bundle: run `make bundle` (make test does)")
	}
	ts := startServer(t, nil)
	submit(t, ts, "x")
	c, _ := loggedIn(t, ts, "hana", storage.RoleCaseworker)
	_, inbox := get(t, c, ts.URL+"/staff/")
	ref := refRE.FindStringSubmatch(inbox)
	if ref == nil {
		t.Fatal("no case in the inbox")
	}
	_, page := get(t, c, ts.URL+"/staff/case/"+ref[1])
	if strings.Contains(page, `id="console-missing"`) {
		t.Error("the staff page says the console is missing, in a build that has it")
	}
	m := scriptURL.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the case page does not load the console under a hashed URL:\n%s", page)
	}
	res, js := get(t, c, ts.URL+m[1])
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("GET %s: %d %s", m[1], res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || len(js) < 1000 {
		t.Errorf("Cache-Control %q, %d bytes", res.Header.Get("Cache-Control"), len(js))
	}
}
