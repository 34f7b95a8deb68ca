package auth_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// Constant-time comparison is a property of how the code is written, not of
// what it answers: no request shows it short of measuring time, and a test
// that measures time flakes. So this test reads the source instead.
//
// The seam is codeComparers: the functions that compare a submitted code
// with a stored or expected value. Each must call subtle.ConstantTimeCompare
// or hmac.Equal. Then every function of the packages is searched for the
// comparisons that stop at the first differing byte — bytes.Equal,
// reflect.DeepEqual and the like, or == and != — applied to a value whose
// name says it is a secret (code, hash, mac, secret...). A comparison with a
// constant (an emptiness test, a length check) is not one. A function that
// starts comparing codes belongs in codeComparers; one renamed or moved fails
// the test until the list follows.

// codeComparers are the functions, per package, that compare a submitted
// code against the stored or expected one.
var codeComparers = []struct {
	pkg, dir string
	funcs    []string // "Recv.Name" for methods
}{
	{"auth", ".", []string{"recoveryCodeFactor.check", "smsFactor.check"}},
	{"totp", "../totp", []string{"Verify"}},
	{"recovery", "../recovery", nil}, // its codes are compared by auth, as keyed hashes
}

// constantTime are the comparisons that take the same time whatever the
// bytes: import path, function.
var constantTime = map[[2]string]bool{
	{"crypto/subtle", "ConstantTimeCompare"}: true,
	{"crypto/hmac", "Equal"}:                 true,
}

// earlyExit are the library comparisons that return at the first
// difference.
var earlyExit = map[[2]string]bool{
	{"bytes", "Equal"}: true, {"bytes", "Compare"}: true, {"bytes", "EqualFold"}: true,
	{"strings", "Compare"}: true, {"strings", "EqualFold"}: true,
	{"reflect", "DeepEqual"}: true,
	{"slices", "Equal"}:      true, {"slices", "Compare"}: true,
	{"maps", "Equal"}: true,
}

// secretWords mark a name as holding a secret: one of its camelCase words
// is one of these.
var secretWords = []string{"code", "codes", "hash", "hashes", "mac", "secret", "secrets", "otp", "digest", "sum", "token", "password"}

func TestConstantTimeComparisons(t *testing.T) {
	for _, tc := range codeComparers {
		t.Run(tc.pkg, func(t *testing.T) {
			pkg := parsePackage(t, tc.dir)
			if len(pkg.funcs) == 0 {
				t.Fatalf("no functions in %s", tc.dir)
			}
			for _, name := range tc.funcs {
				fn, ok := pkg.funcs[name]
				if !ok {
					t.Errorf("package %s has no function %s; update codeComparers if it was renamed or moved", tc.pkg, name)
					continue
				}
				if !pkg.callsConstantTime(fn) {
					t.Errorf("%s compares a code without subtle.ConstantTimeCompare or hmac.Equal", name)
				}
			}
			for name, fn := range pkg.funcs {
				for _, found := range pkg.earlyExitComparisons(fn) {
					t.Errorf("%s: %s compares a secret in variable time: %s; use subtle.ConstantTimeCompare", pkg.fset.Position(found.Pos()), name, pkg.source(found))
				}
			}
		})
	}
}

// goPackage is the parsed non-test source of one package.
type goPackage struct {
	fset    *token.FileSet
	funcs   map[string]*ast.FuncDecl // "Recv.Name" for methods
	imports map[*ast.FuncDecl]map[string]string
	consts  map[string]bool // package-level constant names
	files   map[string][]byte
}

func parsePackage(t *testing.T, dir string) *goPackage {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	p := &goPackage{fset: token.NewFileSet(), funcs: map[string]*ast.FuncDecl{}, imports: map[*ast.FuncDecl]map[string]string{},
		consts: map[string]bool{}, files: map[string][]byte{}}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		p.files[name] = data
		f, err := parser.ParseFile(p.fset, name, data, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		imports := map[string]string{}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			local := path[strings.LastIndex(path, "/")+1:]
			if im.Name != nil {
				local = im.Name.Name
			}
			imports[local] = path
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				p.funcs[funcName(d)] = d
				p.imports[d] = imports
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					for _, n := range spec.(*ast.ValueSpec).Names {
						p.consts[n.Name] = true
					}
				}
			}
		}
	}
	return p
}

func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	typ := d.Recv.List[0].Type
	if s, ok := typ.(*ast.StarExpr); ok {
		typ = s.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return d.Name.Name
}

// libCall returns the import path and name of a call of a package-level
// function of another package (pkg.Func(...)).
func (p *goPackage) libCall(fn *ast.FuncDecl, e ast.Expr) (path, name string, ok bool) {
	call, isCall := e.(*ast.CallExpr)
	if !isCall {
		return "", "", false
	}
	sel, isSel := call.Fun.(*ast.SelectorExpr)
	if !isSel {
		return "", "", false
	}
	x, isIdent := sel.X.(*ast.Ident)
	if !isIdent {
		return "", "", false
	}
	path, ok = p.imports[fn][x.Name]
	return path, sel.Sel.Name, ok
}

func (p *goPackage) callsConstantTime(fn *ast.FuncDecl) bool {
	found := false
	ast.Inspect(fn, func(n ast.Node) bool {
		if e, ok := n.(ast.Expr); ok {
			if path, name, ok := p.libCall(fn, e); ok && constantTime[[2]string{path, name}] {
				found = true
			}
		}
		return !found
	})
	return found
}

// earlyExitComparisons returns the nodes of fn that compare a secret with a
// non-constant value in variable time.
func (p *goPackage) earlyExitComparisons(fn *ast.FuncDecl) []ast.Node {
	var out []ast.Node
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) && p.comparesSecret(fn, n.X, n.Y) {
				out = append(out, n)
			}
		case *ast.CallExpr:
			if path, name, ok := p.libCall(fn, n); ok && earlyExit[[2]string{path, name}] && len(n.Args) >= 2 && p.comparesSecret(fn, n.Args[0], n.Args[1]) {
				out = append(out, n)
			}
		case *ast.SwitchStmt:
			// switch x { case y: } compares x == y.
			if n.Tag == nil {
				break
			}
			for _, c := range n.Body.List {
				for _, v := range c.(*ast.CaseClause).List {
					if p.comparesSecret(fn, n.Tag, v) {
						out = append(out, v)
					}
				}
			}
		}
		return true
	})
	return out
}

// comparesSecret reports whether comparing a and b compares a secret: one
// of them names one and neither is a constant.
func (p *goPackage) comparesSecret(fn *ast.FuncDecl, a, b ast.Expr) bool {
	if p.isConstant(a) || p.isConstant(b) {
		return false
	}
	return p.namesSecret(fn, a) || p.namesSecret(fn, b)
}

// isConstant reports whether e is a literal, nil, a constant of the package
// or a length, none of which is a secret.
func (p *goPackage) isConstant(e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return e.Name == "nil" || e.Name == "true" || e.Name == "false" || p.consts[e.Name]
	case *ast.CallExpr:
		id, ok := e.Fun.(*ast.Ident)
		return ok && (id.Name == "len" || id.Name == "cap")
	case *ast.BinaryExpr:
		return p.isConstant(e.X) && p.isConstant(e.Y)
	}
	return false
}

// namesSecret reports whether e mentions a name that holds a secret, not
// counting the results of constant-time comparisons and lengths.
func (p *goPackage) namesSecret(fn *ast.FuncDecl, e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if found {
			return false
		}
		if x, ok := n.(ast.Expr); ok {
			if path, name, ok := p.libCall(fn, x); ok && constantTime[[2]string{path, name}] {
				return false
			}
			if p.isConstant(x) {
				return false
			}
		}
		if id, ok := n.(*ast.Ident); ok && isSecretName(id.Name) {
			found = true
		}
		return true
	})
	return found
}

// isSecretName reports whether one of the camelCase words of name is a
// secret word ("storedHash", "CodeAt", "mac").
func isSecretName(name string) bool {
	var words []string
	start := 0
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			words = append(words, strings.ToLower(name[start:i]))
			start = i
		}
	}
	words = append(words, strings.ToLower(name[start:]))
	for _, w := range words {
		if slices.Contains(secretWords, w) {
			return true
		}
	}
	return false
}

// source returns the text of n.
func (p *goPackage) source(n ast.Node) string {
	start, end := p.fset.Position(n.Pos()), p.fset.Position(n.End())
	return string(p.files[start.Filename][start.Offset:end.Offset])
}
