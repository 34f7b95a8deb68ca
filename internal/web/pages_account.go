package web

import "net/http"

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
