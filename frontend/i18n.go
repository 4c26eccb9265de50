package frontend

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Reporter pages are translated through message catalogues, one JSON file
// per language in locales/: a flat object from message key to text. Keys
// used in templates are short names ("index.lead"); keys used in Go code
// are the English text itself, x/text's convention, so that the code reads
// naturally. Messages use fmt verbs for their arguments (%s, %d, or %[2]s
// where a language needs another order).
//
// A message whose key ends in ".html" may hold a little markup (<strong>,
// <a href>): catalogues are part of the source, reviewed like templates,
// and every argument is escaped before it is put in.
//
//go:embed locales/*.json
var localeFS embed.FS

// A Language is one the reporter pages are offered in.
type Language struct {
	Tag  string // BCP 47, e.g. "pl"
	Name string // the language's name in itself, for the switcher
	RTL  bool   // written right to left
}

// Languages lists the languages offered, English (the source) first.
var Languages = []Language{
	{Tag: "en", Name: "English"},
	{Tag: "cy", Name: "Cymraeg"},
	{Tag: "pl", Name: "Polski"},
	{Tag: "bn", Name: "বাংলা"},
	{Tag: "ur", Name: "اردو", RTL: true},
	{Tag: "ar", Name: "العربية", RTL: true},
}

var matcher = func() language.Matcher {
	var tags []language.Tag
	for _, l := range Languages {
		tags = append(tags, language.MustParse(l.Tag))
	}
	return language.NewMatcher(tags)
}()

// MatchLanguage picks the language for a request: an explicit choice (from
// the switcher) if it names one offered, else the best match for the
// browser's Accept-Language header, else English.
func MatchLanguage(choice, acceptLanguage string) Language {
	for _, l := range Languages {
		if choice == l.Tag {
			return l
		}
	}
	_, i, conf := matcher.Match(parseAccept(acceptLanguage)...)
	if conf == language.No {
		return Languages[0]
	}
	return Languages[i]
}

// parseAccept reads an Accept-Language header, bounded: a hostile header
// cannot make the matcher do much work.
func parseAccept(h string) []language.Tag {
	if len(h) > 512 {
		h = h[:512]
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil || len(tags) > 16 {
		return nil
	}
	return tags
}

// Catalogue is every language's messages.
type Catalogue struct {
	builder  *catalog.Builder
	messages map[string]map[string]string // language → key → text
}

// LoadCatalogue reads the embedded catalogues. Every language must have
// exactly English's keys (TestCataloguesAreComplete says which differ).
func LoadCatalogue() (*Catalogue, error) {
	c := &Catalogue{builder: catalog.NewBuilder(catalog.Fallback(language.English)), messages: map[string]map[string]string{}}
	for _, l := range Languages {
		b, err := fs.ReadFile(localeFS, "locales/"+l.Tag+".json")
		if err != nil {
			return nil, fmt.Errorf("no catalogue for %s: %w", l.Tag, err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", l.Tag, err)
		}
		tag := language.MustParse(l.Tag)
		for k, v := range m {
			if err := c.builder.SetString(tag, k, v); err != nil {
				return nil, fmt.Errorf("catalogue %s, %q: %w", l.Tag, k, err)
			}
		}
		c.messages[l.Tag] = m
	}
	return c, nil
}

// Messages returns one language's catalogue, for tests.
func (c *Catalogue) Messages(tag string) map[string]string { return c.messages[tag] }

// Printer formats messages in one language.
func (c *Catalogue) Printer(tag string) *message.Printer {
	return message.NewPrinter(language.MustParse(tag), message.Catalog(c.builder))
}

// translationFuncs are the template functions of one language: t for
// text (escaped by the template like any value) and th for a message with
// markup, whose arguments are escaped here.
func translationFuncs(p *message.Printer) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return p.Sprintf(key, args...) },
		"th": func(key string, args ...any) template.HTML {
			if !strings.HasSuffix(key, ".html") {
				panic("th is only for keys ending in .html: " + key)
			}
			for i, a := range args {
				args[i] = template.HTMLEscapeString(fmt.Sprint(a))
			}
			return template.HTML(p.Sprintf(key, args...))
		},
	}
}
