package frontend_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/frontend"
)

var templateKey = regexp.MustCompile(`\{\{-?\s*(?:t|th)\s+"([^"]+)"`)

// templateKeys are the message keys the templates use.
func templateKeys(t *testing.T) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	paths, err := filepath.Glob("templates/*.html")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range templateKey.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
	}
	return keys
}

// codeKeys are the English texts the server translates: the literal
// arguments of say(...) and the titles of userError values.
func codeKeys(t *testing.T) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	fset := token.NewFileSet()
	paths, _ := filepath.Glob("../server/*.go")
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		lit := func(e ast.Expr) {
			if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
				s, err := strconv.Unquote(b.Value)
				if err != nil {
					t.Fatal(err)
				}
				keys[s] = true
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "say" && len(n.Args) > 0 {
					lit(n.Args[0])
				}
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "userError" {
					for _, e := range n.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "title" {
								lit(kv.Value)
							}
						}
					}
				}
			}
			return true
		})
	}
	if len(keys) < 20 {
		t.Fatalf("found only %d texts in the server's code: is the extraction broken?", len(keys))
	}
	return keys
}

var verb = regexp.MustCompile(`%(?:\[\d+\])?[-+# 0]*\d*(?:\.\d+)?[a-zA-Z%]`)

// verbs lists a message's formatting verbs, without their explicit
// argument indexes, sorted: a translation may reorder them, not change
// them.
func verbs(s string) []string {
	var out []string
	for _, v := range verb.FindAllString(s, -1) {
		if v == "%%" {
			continue
		}
		out = append(out, regexp.MustCompile(`\[\d+\]`).ReplaceAllString(v, ""))
	}
	sort.Strings(out)
	return out
}

func TestCataloguesAreComplete(t *testing.T) {
	t.Parallel()
	cat, err := frontend.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	en := cat.Messages("en")
	used := templateKeys(t)
	for k := range codeKeys(t) {
		used[k] = true
	}
	// The questionnaire's keys are named by its definition, not the
	// templates (which show them through .LabelKey and the like).
	for _, q := range frontend.PoliceConduct {
		used[q.LabelKey()], used[q.HelpKey()] = true, true
		for _, c := range q.Choices {
			used[c.Key] = true
		}
	}
	used[frontend.YesKey], used[frontend.NoKey] = true, true
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("en: no message for %q", k)
		}
	}
	for k := range en {
		if !used[k] {
			t.Errorf("en: %q is used nowhere", k)
		}
	}
	for _, l := range frontend.Languages[1:] {
		m := cat.Messages(l.Tag)
		for k, v := range en {
			tr, ok := m[k]
			switch {
			case !ok:
				t.Errorf("%s: no translation of %q", l.Tag, k)
			case strings.TrimSpace(tr) == "":
				t.Errorf("%s: empty translation of %q", l.Tag, k)
			case !slices.Equal(verbs(tr), verbs(v)):
				t.Errorf("%s: %q has verbs %v, English has %v", l.Tag, k, verbs(tr), verbs(v))
			case strings.HasSuffix(k, ".html") && strings.Count(tr, "<") != strings.Count(v, "<"):
				t.Errorf("%s: %q has different markup from English", l.Tag, k)
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %q is not in English", l.Tag, k)
			}
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ choice, accept, want string }{
		{"", "", "en"},
		{"", "pl-PL,pl;q=0.9,en;q=0.5", "pl"},
		{"", "ar-EG", "ar"},
		{"", "ur-PK, en-GB;q=0.8", "ur"},
		{"", "bn", "bn"},
		{"", "cy", "cy"},
		{"", "cy-GB", "cy"},
		{"", "cy-GB,cy;q=0.9,en-GB;q=0.8,en;q=0.7", "cy"},
		{"", "en-GB,en;q=0.9,cy;q=0.8", "en"},
		{"cy", "pl", "cy"},
		{"", "fr-FR", "en"},
		{"bn", "pl", "bn"},
		{"xx", "ar", "ar"},
		{"", strings.Repeat("a-", 5000), "en"},
	} {
		if got := frontend.MatchLanguage(tc.choice, tc.accept).Tag; got != tc.want {
			t.Errorf("MatchLanguage(%q, %q) = %s, want %s", tc.choice, tc.accept, got, tc.want)
		}
	}
}

// The catalogues are embedded; this guards against a file being added on
// disk and forgotten in Languages.
func TestEveryCatalogueIsOffered(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(os.DirFS("locales"), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(frontend.Languages) {
		t.Fatalf("%d catalogues on disk, %d languages offered", len(files), len(frontend.Languages))
	}
}

// The catalogue's English is the questionnaire's own wording, which is
// what the answers carry: the reporter reads what staff will see.
func TestQuestionnaireIsTranslated(t *testing.T) {
	t.Parallel()
	cat, err := frontend.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	en := cat.Messages("en")
	for _, q := range frontend.PoliceConduct {
		if en[q.LabelKey()] != q.Label {
			t.Errorf("%s: en has label %q, the definition %q", q.ID, en[q.LabelKey()], q.Label)
		}
		if en[q.HelpKey()] != q.Help || q.Help == "" {
			t.Errorf("%s: en has help %q, the definition %q", q.ID, en[q.HelpKey()], q.Help)
		}
		for _, c := range q.Choices {
			if en[c.Key] != c.Value {
				t.Errorf("%s: en has choice %q, the definition %q", q.ID, en[c.Key], c.Value)
			}
		}
	}
}
