package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
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

// pageData is what every page template can use.
type pageData struct {
	Title    string
	SignedIn bool
	Error    string
	Message  string
	// Page-specific fields.
	Email              string
	Methods            []string
	Preferred          string
	EnrollmentRequired bool
	TOTP               bool
	Recovery           bool
	NewRecoveryCode    string
	Messages           []OutboxMessage
}

// render executes a page into a buffer first, so a template error never
// leaves half a page on the wire.
func (p *pages) render(w http.ResponseWriter, status int, name string, data pageData) {
	var buf bytes.Buffer
	if err := p.tmpl[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows err as a page, with the status the API would give.
func (p *pages) renderError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	e, ok := errors.AsType[*auth.Error](err)
	if !ok {
		e = auth.Internal(err)
	}
	if e.Kind == auth.KindInternal {
		logger.ErrorContext(r.Context(), "internal error", "err", err)
	}
	m := errorStatus[e.Kind]
	title := http.StatusText(m.status)
	switch e.Kind {
	case auth.KindMFARequired, auth.KindEnrollmentRequired:
		title = "Finish signing in"
	case auth.KindUnauthenticated:
		title = "Please sign in"
	}
	p.render(w, m.status, "error", pageData{Title: title, Message: e.Message})
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

func (s *server) pageLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.pages.render(w, http.StatusOK, "login", pageData{Title: "Sign in"})
	})
}

// pageLoginSubmit signs in through the same service call as the API.
func (s *server) pageLoginSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			s.pages.render(w, http.StatusBadRequest, "login", pageData{Title: "Sign in", Error: "The form could not be read."})
			return
		}
		email := r.PostForm.Get("email")
		prev, _ := s.credentials(r)
		res, err := s.svc.Login(r.Context(), email, r.PostForm.Get("password"), s.clientOf(r), prev)
		if err != nil {
			e, ok := errors.AsType[*auth.Error](err)
			if !ok || e.Kind == auth.KindInternal {
				s.pages.renderError(w, r, s.logger, err)
				return
			}
			writeRetryAfter(w, e)
			s.pages.render(w, errorStatus[e.Kind].status, "login", pageData{Title: "Sign in", Email: email, Error: e.Message})
			return
		}
		s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		if res.Session.AAL >= auth.AAL2 {
			http.Redirect(w, r, "/account", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login/mfa", http.StatusSeeOther)
	})
}

func (s *server) pageMFA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderMFA(w, r, http.StatusOK, "")
	})
}

// pageMFASendSMS sends a sign-in code by SMS and shows the challenge again.
func (s *server) pageMFASendSMS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent, err := s.svc.SendLoginSMS(r.Context(), principalFrom(r.Context()), s.clientOf(r))
		if err != nil {
			e, ok := errors.AsType[*auth.Error](err)
			if !ok || e.Kind == auth.KindInternal {
				s.pages.renderError(w, r, s.logger, err)
				return
			}
			writeRetryAfter(w, e)
			s.renderMFA(w, r, errorStatus[e.Kind].status, e.Message)
			return
		}
		s.renderMFAWith(w, r, http.StatusOK, "", "We sent a code to "+sent.Phone+".", auth.MethodSMS)
	})
}

func (s *server) renderMFA(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.renderMFAWith(w, r, status, msg, "", "")
}

// renderMFAWith shows the challenge page with an error or a notice, and
// the method to pre-select ("" for the one used last).
func (s *server) renderMFAWith(w http.ResponseWriter, r *http.Request, status int, msg, notice, method string) {
	p := principalFrom(r.Context())
	if p.Session.AAL >= auth.AAL2 {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	ch, err := s.svc.Challenge(r.Context(), p)
	if err != nil {
		s.pages.renderError(w, r, s.logger, err)
		return
	}
	// The method just tried stays selected; else the one auth picks.
	selected := method
	if selected == "" {
		selected = ch.Selected
	}
	s.pages.render(w, status, "mfa", pageData{
		Title: "Verify it's you", SignedIn: true, Error: msg, Message: notice, Methods: ch.Methods,
		Preferred: selected, EnrollmentRequired: ch.EnrollmentRequired,
	})
}

func (s *server) pageMFASubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			s.renderMFA(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		res, err := s.svc.VerifyLogin(r.Context(), principalFrom(r.Context()), r.PostForm.Get("method"), r.PostForm.Get("code"), s.clientOf(r))
		if err != nil {
			e, ok := errors.AsType[*auth.Error](err)
			if !ok || e.Kind == auth.KindInternal || e.Kind == auth.KindUnauthenticated {
				s.pages.renderError(w, r, s.logger, err)
				return
			}
			writeRetryAfter(w, e)
			s.renderMFAWith(w, r, errorStatus[e.Kind].status, e.Message, "", r.PostForm.Get("method"))
			return
		}
		s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		if res.NewRecoveryCode != "" {
			// Shown once, right here: the recovery code is never stored in
			// the clear, so it cannot be shown again after a redirect.
			p := principalFrom(r.Context())
			s.pages.render(w, http.StatusOK, "account", pageData{
				Title: "Password & Security", SignedIn: true, Email: p.User.Email, NewRecoveryCode: res.NewRecoveryCode,
			})
			return
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	})
}

func (s *server) pageAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		sec, err := s.svc.SecurityOverview(r.Context(), p)
		if err != nil {
			s.pages.renderError(w, r, s.logger, err)
			return
		}
		s.pages.render(w, http.StatusOK, "account", pageData{
			Title: "Password & Security", SignedIn: true, Email: p.User.Email,
			TOTP: sec.TOTPEnabled, Recovery: sec.RecoveryCode,
		})
	})
}

func (s *server) pageLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.svc.Logout(r.Context(), principalFrom(r.Context())); err != nil {
			s.pages.renderError(w, r, s.logger, err)
			return
		}
		s.clearSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

func (s *server) pageOutbox() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msgs []OutboxMessage
		if s.opts.Outbox != nil {
			msgs = s.opts.Outbox()
		}
		s.pages.render(w, http.StatusOK, "outbox", pageData{Title: "SMS outbox", Messages: msgs})
	})
}

func writeRetryAfter(w http.ResponseWriter, e *auth.Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(e.RetryAfter))
	}
}
