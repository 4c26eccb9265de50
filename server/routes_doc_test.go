package server_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedHandlerFiles are the files allowed, for now, more than one handler,
// and why.
var sharedHandlerFiles = map[string]string{}

// TestEveryRouteHasItsOwnDocumentedHandler keeps two rules of the package
// true (see the package doc): every handler that routes.go registers has a
// doc comment naming its route as "METHOD /path", so that grepping the
// route finds it; and no file holds two handlers (handleX functions).
func TestEveryRouteHasItsOwnDocumentedHandler(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	must(t, err)
	docs := map[string]string{} // function name → doc comment
	var routesFile *ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		must(t, err)
		if name == "routes.go" {
			routesFile = f
		}
		var handlers []string
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			docs[fd.Name.Name] = fd.Doc.Text()
			if strings.HasPrefix(fd.Name.Name, "handle") && fd.Name.Name != "handleError" {
				handlers = append(handlers, fd.Name.Name)
			}
		}
		if len(handlers) > 1 {
			if why, ok := sharedHandlerFiles[name]; ok {
				t.Logf("%s holds %s, allowed for now: %s", name, strings.Join(handlers, ", "), why)
			} else {
				t.Errorf("%s holds %d handlers (%s): one handler per file", name, len(handlers), strings.Join(handlers, ", "))
			}
		}
	}
	if routesFile == nil {
		t.Fatal("no routes.go")
	}

	// Walk the route table: groups (x := y.Group("/prefix", …)) and
	// routes (x.Get("/path", …, s.handler) or s.changeCase(s.handler)).
	prefix := map[string]string{"app": ""}
	routes := 0
	ast.Inspect(routesFile, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) != 1 || len(n.Rhs) != 1 {
				return true
			}
			call, ok := n.Rhs[0].(*ast.CallExpr)
			if !ok {
				return true
			}
			if recv, method, ok := methodCall(call); ok && method == "Group" {
				p, _ := strconv.Unquote(call.Args[0].(*ast.BasicLit).Value)
				prefix[n.Lhs[0].(*ast.Ident).Name] = strings.TrimSuffix(prefix[recv], "/") + p
			}
		case *ast.CallExpr:
			recv, method, ok := methodCall(n)
			if !ok {
				return true
			}
			switch method {
			case "Get", "Post", "Put", "Patch", "Delete":
			default:
				return true
			}
			base, ok := prefix[recv]
			if !ok {
				t.Errorf("route on %s, which is not a known group", recv)
				return true
			}
			lit, ok := n.Args[0].(*ast.BasicLit)
			if !ok {
				t.Errorf("a route whose path is not a literal: %s", fset.Position(n.Pos()))
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			full := path.Clean(strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(p, "/"))
			if p == "/" || (p == "" && base == "") {
				full = strings.TrimSuffix(base, "/") + "/"
			}
			route := strings.ToUpper(method) + " " + full
			handler := handlerName(n.Args[len(n.Args)-1])
			routes++
			doc, ok := docs[handler]
			switch {
			case handler == "":
				t.Errorf("%s: handler is not a method of the server", route)
			case !ok:
				t.Errorf("%s: no function %s", route, handler)
			case !namesRoute(doc, route):
				t.Errorf("%s: the doc comment of %s does not name its route", route, handler)
			}
		}
		return true
	})
	if routes < 30 {
		t.Errorf("found %d routes in routes.go: the walk missed some", routes)
	}
}

// methodCall returns x and M of a call x.M(…).
func methodCall(call *ast.CallExpr) (recv, method string, ok bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", "", false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", "", false
	}
	return id.Name, sel.Sel.Name, true
}

// handlerName is the name of the function a route runs: s.handleX, or the
// function a wrapper such as s.changeCase(s.setStatus) is given.
func handlerName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.CallExpr:
		if len(e.Args) == 1 {
			return handlerName(e.Args[0])
		}
	}
	return ""
}

// namesRoute reports whether doc names route ("GET /case"), not merely a
// longer path that begins with it ("GET /case/withdraw"). A route ending
// in * (GET /static/*) is named by any path under it.
func namesRoute(doc, route string) bool {
	doc = strings.Join(strings.Fields(doc), " ")
	if r, ok := strings.CutSuffix(route, "*"); ok {
		return strings.Contains(doc, r)
	}
	for i := 0; ; {
		j := strings.Index(doc[i:], route)
		if j < 0 {
			return false
		}
		end := i + j + len(route)
		if end == len(doc) || !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-.<>", rune(doc[end])) {
			return true
		}
		i = end
	}
}
