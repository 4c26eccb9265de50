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

// Templates is the set of pages, each parsed together with the layout.
type Templates struct {
	pages map[string]*template.Template
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
	// day formats a (coarse) date.
	"day": func(t time.Time) string { return t.UTC().Format("2 January 2006") },
}

// Parse parses every page with the layout. It fails if any page does.
func Parse() (*Templates, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("failed to parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	t := &Templates{pages: map[string]*template.Template{}}
	for _, name := range names {
		base := strings.TrimPrefix(name, "templates/")
		if base == "layout.html" {
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
		t.pages[strings.TrimSuffix(base, ".html")] = page
	}
	return t, nil
}

// Render executes page (its file name without .html) with data.
func (t *Templates) Render(page string, data any) ([]byte, error) {
	tmpl, ok := t.pages[page]
	if !ok {
		return nil, fmt.Errorf("no page %q", page)
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return nil, fmt.Errorf("failed to render %s: %w", page, err)
	}
	return buf.Bytes(), nil
}
