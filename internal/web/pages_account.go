package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
)

func (s *server) pageAccount() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.renderAccount(w, r, principalFrom(r.Context()), "")
	}
}

// renderAccount renders the account page of p's user from the security
// overview, with a recovery code to show once (or "").
func (s *server) renderAccount(w http.ResponseWriter, r *http.Request, p *auth.Principal, newRecoveryCode string) error {
	sec, err := s.svc.SecurityOverview(r.Context(), p)
	if err != nil {
		if newRecoveryCode == "" {
			return err
		}
		// The code was used and replaced already: the new one must be shown
		// even if the overview cannot be read now.
		s.logFailure(r, err)
		sec = &auth.Security{}
	}
	s.pages.render(w, http.StatusOK, accountPage{
		layout: layout{Title: "Password & Security", SignedIn: true}, Email: p.User.Email,
		TOTP: sec.TOTPEnabled, Recovery: sec.RecoveryCode, NewRecoveryCode: newRecoveryCode,
	})
	return nil
}
