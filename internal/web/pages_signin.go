package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
)

func (s *server) pageLogin() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.showLogin("")(w, r, http.StatusOK, "")
	}
}

// showLogin shows the sign-in form with email filled in and an error.
func (s *server) showLogin(email string) showForm {
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
func (s *server) retryMFA(method string) showForm {
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
			// The page shows what the account has, as /account does.
			return s.renderAccount(w, r, principalFrom(r.Context()), res.NewRecoveryCode)
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
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
