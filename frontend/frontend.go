// Package frontend holds Candour's server-rendered pages and static assets,
// embedded into the binary. Templates are html/template, parsed once at
// start; every value is escaped by context, and decrypted report text is only
// ever inserted as text.
package frontend

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static returns the static assets (CSS, images), rooted so that
// "style.css" is static/style.css.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}

// Templates is the set of pages, each parsed together with the layout, in
// every language.
type Templates struct {
	pages  map[string]map[string]*template.Template // language → page → template
	assets *Assets
}

var funcs = template.FuncMap{
	// bytes formats a size for people in binary units, as limits are set:
	// 1 GiB, 1.5 MiB, 300 KiB.
	"bytes": func(n int64) string {
		if n < 1024 {
			return fmt.Sprintf("%d bytes", n)
		}
		f, unit := float64(n), ""
		for _, unit = range []string{"KiB", "MiB", "GiB", "TiB"} {
			f /= 1024
			if f < 1024 {
				break
			}
		}
		return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") + " " + unit
	},
	"int64": func(n int) int64 { return int64(n) },
	// day formats a (coarse) date; numerically outside English.
	"day": func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	// consolePresent tells the staff pages whether the console's script
	// is in this build.
	"consolePresent": ConsolePresent,
	// Stand-ins until a language is chosen and the assets are hashed (see
	// Parse).
	"t":         func(string, ...any) string { return "" },
	"th":        func(string, ...any) template.HTML { return "" },
	"asset":     func(string) (string, error) { return "", nil },
	"staffPage": func() bool { return false },
}

// Parse parses every page with the layout, and prepares it in every
// language of cat. It fails if any page does. Pages link static files
// through {{asset "style.css"}}, which gives the file's content-hashed URL
// (see Assets).
func Parse(cat *Catalogue) (*Templates, error) {
	assets, err := LoadAssets()
	if err != nil {
		return nil, err
	}
	// Partials (partial_*.html) define pieces that several pages include;
	// they are parsed with the layout, not as pages of their own.
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partial_*.html")
	if err != nil {
		return nil, fmt.Errorf("failed to parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	t := &Templates{pages: map[string]map[string]*template.Template{}, assets: assets}
	for _, l := range Languages {
		t.pages[l.Tag] = map[string]*template.Template{}
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "templates/")
		if base == "layout.html" || strings.HasPrefix(base, "partial_") {
			continue
		}
		clone, err := layout.Clone()
		if err != nil {
			return nil, err
		}
		page, err := clone.ParseFS(templateFS, name)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %s: %w", base, err)
		}
		staff := strings.HasPrefix(base, "staff_")
		for _, l := range Languages {
			lp, err := page.Clone()
			if err != nil {
				return nil, err
			}
			fm := translationFuncs(cat.Printer(l.Tag))
			fm["asset"] = assets.URL
			fm["staffPage"] = func() bool { return staff }
			if l.Tag != "en" {
				fm["day"] = func(t time.Time) string { return t.UTC().Format("2006-01-02") }
			}
			t.pages[l.Tag][strings.TrimSuffix(base, ".html")] = lp.Funcs(fm)
		}
	}
	return t, nil
}

// Assets are the static files the pages link to, for the server to serve.
func (t *Templates) Assets() *Assets { return t.assets }

// Render executes page (its file name without .html) in language lang
// with data.
func (t *Templates) Render(page, lang string, data any) ([]byte, error) {
	tmpl, ok := t.pages[lang][page]
	if !ok {
		return nil, fmt.Errorf("no page %q in %q", page, lang)
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return nil, fmt.Errorf("failed to render %s: %w", page, err)
	}
	return buf.Bytes(), nil
}
