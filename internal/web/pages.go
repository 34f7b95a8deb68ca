package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"time"

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

// OutboxMessage is an SMS kept by the development outbox.
type OutboxMessage struct {
	To      string
	Body    string
	Purpose string // login, reauth, enroll or notice
	At      time.Time
}

func (s *server) pageLogin() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.showLogin("")(w, r, http.StatusOK, "")
	}
}

// showLogin shows the sign-in form with email filled in and an error.
func (s *server) showLogin(email string) func(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	return func(w http.ResponseWriter, r *http.Request, status int, msg string) error {
		s.pages.render(w, status, loginPage{layout: layout{Title: "Sign in"}, Email: email, Error: msg})
		return nil
	}
}

// pageLoginSubmit signs in through the same service call as the API.
func (s *server) pageLoginSubmit() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return retryForm(errUnreadableForm, s.showLogin(""))
		}
		email := r.PostForm.Get("email")
		prev, _ := s.credentials(r)
		res, err := s.svc.Login(r.Context(), email, r.PostForm.Get("password"), s.clientOf(r), prev)
		if err != nil {
			return retryForm(err, s.showLogin(email))
		}
		s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		if res.Session.AAL >= auth.AAL2 {
			http.Redirect(w, r, "/account", http.StatusSeeOther)
			return nil
		}
		http.Redirect(w, r, "/login/mfa", http.StatusSeeOther)
		return nil
	}
}

func (s *server) pageMFA() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.showMFA(w, r, http.StatusOK, "", "", "")
	}
}

// pageMFASendSMS sends a sign-in code by SMS and shows the challenge again.
func (s *server) pageMFASendSMS() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sent, err := s.svc.SendLoginSMS(r.Context(), principalFrom(r.Context()), s.clientOf(r))
		if err != nil {
			return retryForm(err, s.retryMFA(""))
		}
		return s.showMFA(w, r, http.StatusOK, "", "We sent a code to "+sent.Phone+".", auth.MethodSMS)
	}
}

// retryMFA shows the challenge again after a failed attempt with method
// ("" for the one auth pre-selects).
func (s *server) retryMFA(method string) func(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	return func(w http.ResponseWriter, r *http.Request, status int, msg string) error {
		return s.showMFA(w, r, status, msg, "", method)
	}
}

// showMFA shows the challenge page with an error or a notice, and the
// method to pre-select ("" for the one auth picks). A session that passed
// the challenge goes on to its account.
func (s *server) showMFA(w http.ResponseWriter, r *http.Request, status int, msg, notice, method string) error {
	p := principalFrom(r.Context())
	if p.Session.AAL >= auth.AAL2 {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	ch, err := s.svc.Challenge(r.Context(), p)
	if err != nil {
		return err
	}
	// The method just tried stays selected; else the one auth picks.
	selected := method
	if selected == "" {
		selected = ch.Selected
	}
	s.pages.render(w, status, mfaPage{
		layout: layout{Title: "Verify it's you", SignedIn: true}, Error: msg, Notice: notice, Methods: ch.Methods,
		Selected: selected, EnrollmentRequired: ch.EnrollmentRequired,
	})
	return nil
}

func (s *server) pageMFASubmit() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return retryForm(errUnreadableForm, s.retryMFA(""))
		}
		method := r.PostForm.Get("method")
		res, err := s.svc.VerifyLogin(r.Context(), principalFrom(r.Context()), method, r.PostForm.Get("code"), s.clientOf(r))
		if err != nil {
			return retryForm(err, s.retryMFA(method))
		}
		s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		if res.NewRecoveryCode != "" {
			// Shown once, right here: the recovery code is never stored in
			// the clear, so it cannot be shown again after a redirect.
			p := principalFrom(r.Context())
			s.pages.render(w, http.StatusOK, accountPage{
				layout: layout{Title: "Password & Security", SignedIn: true}, Email: p.User.Email, NewRecoveryCode: res.NewRecoveryCode,
			})
			return nil
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
}

func (s *server) pageAccount() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := principalFrom(r.Context())
		sec, err := s.svc.SecurityOverview(r.Context(), p)
		if err != nil {
			return err
		}
		s.pages.render(w, http.StatusOK, accountPage{
			layout: layout{Title: "Password & Security", SignedIn: true}, Email: p.User.Email,
			TOTP: sec.TOTPEnabled, Recovery: sec.RecoveryCode,
		})
		return nil
	}
}

func (s *server) pageLogout() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.Logout(r.Context(), principalFrom(r.Context())); err != nil {
			return err
		}
		s.clearSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
}

func (s *server) pageOutbox() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var msgs []OutboxMessage
		if s.opts.Outbox != nil {
			msgs = s.opts.Outbox()
		}
		s.pages.render(w, http.StatusOK, outboxPage{layout: layout{Title: "SMS outbox"}, Messages: msgs})
		return nil
	}
}
