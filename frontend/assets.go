package frontend

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"sort"
	"strings"
)

// ConsoleScript is the staff console's in-browser decryption script: the
// esbuild bundle of frontend/js (`npm run build`, run by `make build`). It
// is not committed, and go:embed takes the static folder as it finds it, so
// a plain `go build` on a fresh clone makes a binary without it, whose
// staff case page cannot decrypt anything.
const ConsoleScript = "staff.js"

// LoginScript is the staff login pages' script (passkeys): the second
// entry of the same esbuild build, so it is present exactly when
// ConsoleScript is.
const LoginScript = "login.js"

// ConsolePresent reports whether this binary was built with the staff
// console's scripts (ConsoleScript and LoginScript). `candour serve`
// refuses to start without them unless told to, and then every staff page
// says that the console cannot decrypt, and the login pages offer no
// passkey.
func ConsolePresent() bool {
	for _, name := range []string{ConsoleScript, LoginScript} {
		fi, err := fs.Stat(Static(), name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
			return false
		}
	}
	return true
}

// Assets are the embedded static files under content-hashed URLs, such as
// /static/3f2a9c0e1b7d4a65/style.css (as miniflux serves them): a new
// release changes the URL of every file it changes, so a browser may keep
// each URL for a year and never run an old script or stylesheet with a new
// page. They are hashed once, when the templates are parsed.
type Assets struct {
	byName map[string]Asset // "style.css"
	byPath map[string]Asset // "3f2a9c0e1b7d4a65/style.css"
}

// Asset is one static file.
type Asset struct {
	URL         string // /static/HASH/NAME
	ContentType string
	Body        []byte
}

// assetPrefix is where the server mounts Assets.Lookup.
const assetPrefix = "/static/"

// LoadAssets hashes every embedded static file.
func LoadAssets() (*Assets, error) {
	a := &Assets{byName: map[string]Asset{}, byPath: map[string]Asset{}}
	err := fs.WalkDir(Static(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(Static(), name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		// 64 bits tell one version of a file from another; nobody forges
		// our own files' hashes.
		rel := hex.EncodeToString(sum[:8]) + "/" + name
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		asset := Asset{URL: assetPrefix + rel, ContentType: ctype, Body: body}
		a.byName[name], a.byPath[rel] = asset, asset
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to hash static files: %w", err)
	}
	return a, nil
}

// URL returns the hashed URL of the static file name ("style.css"). It fails
// for a file that is not embedded, so that a page naming one fails to render
// rather than link to nothing.
func (a *Assets) URL(name string) (string, error) {
	asset, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("no static file %q in this build", name)
	}
	return asset.URL, nil
}

// Lookup finds a file by its URL path under /static/ ("HASH/NAME"). Only
// the current hash of a file is found: an old or made-up one is not, so a
// stale URL is never answered with different content under a year-long
// cache lifetime.
func (a *Assets) Lookup(p string) (Asset, bool) {
	asset, ok := a.byPath[strings.TrimPrefix(p, "/")]
	return asset, ok
}

// Names lists the embedded static files, sorted.
func (a *Assets) Names() []string {
	names := make([]string, 0, len(a.byName))
	for n := range a.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
