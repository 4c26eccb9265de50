package frontend_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"

	"github.com/candour/candour/frontend"
)

func TestAssetsAreNamedByTheirContent(t *testing.T) {
	a, err := frontend.LoadAssets()
	if err != nil {
		t.Fatal(err)
	}
	names := a.Names()
	if len(names) == 0 {
		t.Fatal("no static files")
	}
	for _, name := range names {
		body, err := fs.ReadFile(frontend.Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		want := "/static/" + hex.EncodeToString(sum[:8]) + "/" + name
		url, err := a.URL(name)
		if err != nil || url != want {
			t.Errorf("URL(%q) = %q, %v; want %q", name, url, err, want)
		}
		got, ok := a.Lookup(strings.TrimPrefix(url, "/static/"))
		if !ok || string(got.Body) != string(body) || got.URL != url {
			t.Errorf("Lookup of %s does not find the file", url)
		}
		if _, ok := a.Lookup(name); ok {
			t.Errorf("%s is found without its hash", name)
		}
		if _, ok := a.Lookup("0123456789abcdef/" + name); ok {
			t.Errorf("%s is found under a wrong hash", name)
		}
	}
	if url, _ := a.URL("style.css"); url == "" {
		t.Error("no stylesheet")
	} else if got, _ := a.Lookup(strings.TrimPrefix(url, "/static/")); !strings.HasPrefix(got.ContentType, "text/css") {
		t.Errorf("style.css is served as %q", got.ContentType)
	}
	if _, err := a.URL("missing.css"); err == nil {
		t.Error("a file that is not embedded has a URL")
	}
}

func TestConsolePresentMatchesTheEmbeddedFiles(t *testing.T) {
	_, err := fs.Stat(frontend.Static(), frontend.ConsoleScript)
	if got, want := frontend.ConsolePresent(), err == nil; got != want {
		t.Fatalf("ConsolePresent() = %v, but the script is embedded: %v", got, want)
	}
	if !frontend.ConsolePresent() {
		t.Skip("this build has no staff console bundle: run `make bundle` (make test does)")
	}
	a, err := frontend.LoadAssets()
	if err != nil {
		t.Fatal(err)
	}
	if url, err := a.URL(frontend.ConsoleScript); err != nil || !strings.HasSuffix(url, "/staff.js") {
		t.Errorf("URL(staff.js) = %q, %v", url, err)
	}
}

func TestPagesLinkStaticFilesByHash(t *testing.T) {
	tmpl := parse(t)
	style, err := tmpl.Assets().URL("style.css")
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.Render("index", "en", page{Lang: frontend.Languages[0]})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `href="`+style+`"`) {
		t.Errorf("the page does not link %s", style)
	}
	if strings.Contains(string(out), `"/static/style.css"`) {
		t.Error("the page links the unhashed stylesheet")
	}
}
