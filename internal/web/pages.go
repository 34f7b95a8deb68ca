package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"slices"

	"github.com/latchkey/latchkey/internal/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages renders the server-side HTML. Every page is parsed once, at start.
type pages struct {
	dev  bool
	tmpl map[string]*template.Template
}

var methodNames = map[string]string{
	auth.MethodTOTP:         "Authenticator app",
	auth.MethodSMS:          "Text message (SMS)",
	auth.MethodRecoveryCode: "Recovery code",
}

func newPages(dev bool) (*pages, error) {
	funcs := template.FuncMap{
		"methodName": func(m string) string { return methodNames[m] },
		"hasMethod":  func(ms []string, m string) bool { return slices.Contains(ms, m) },
	}
	p := &pages{dev: dev, tmpl: map[string]*template.Template{}}
	for _, name := range []string{"login", "mfa", "account", "error", "outbox"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// Each template has one data type, with only what it shows; each embeds
// layout, what templates/layout.html reads.
type layout struct {
	Title    string
	SignedIn bool // the header offers "Sign out"
}

// view is the data of one template; template names it.
type view interface{ template() string }

// loginPage is templates/login.html: the sign-in form.
type loginPage struct {
	layout
	Email string // as typed, kept after a failed attempt
	Error string
}

// mfaPage is templates/mfa.html: the second-factor challenge.
type mfaPage struct {
	layout
	Error              string
	Notice             string
	Methods            []string
	Selected           string // the method pre-selected
	EnrollmentRequired bool   // no method yet, and the role requires one
}

// accountPage is templates/account.html: the account's security.
type accountPage struct {
	layout
	Email           string
	TOTP            bool
	Recovery        bool
	NewRecoveryCode string // shown once, after a sign-in by recovery code
}

// errorPage is templates/error.html.
type errorPage struct {
	layout
	Message string
}

// outboxPage is templates/outbox.html (--dev only).
type outboxPage struct {
	layout
	Messages []OutboxMessage
}

func (loginPage) template() string   { return "login" }
func (mfaPage) template() string     { return "mfa" }
func (accountPage) template() string { return "account" }
func (errorPage) template() string   { return "error" }
func (outboxPage) template() string  { return "outbox" }

// render executes a page into a buffer first, so a template error never
// leaves half a page on the wire.
func (p *pages) render(w http.ResponseWriter, status int, v view) {
	var buf bytes.Buffer
	if err := p.tmpl[v.template()].ExecuteTemplate(&buf, "layout", v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (p *pages) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}
