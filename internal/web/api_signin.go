package web

import (
	"net/http"
	"time"
)

func (s *server) handleLogin() handlerFunc {
	type request struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	type response struct {
		SessionToken       string   `json:"session_token"`
		AAL                int      `json:"aal"`
		MFARequired        bool     `json:"mfa_required"`
		EnrollmentRequired bool     `json:"enrollment_required"`
		Methods            []string `json:"methods"`
		PreferredMethod    *string  `json:"preferred_method"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req); err != nil {
			return err
		}
		prev, _ := s.credentials(r)
		res, err := s.svc.Login(r.Context(), req.Email, req.Password, s.clientOf(r), prev)
		if err != nil {
			return err
		}
		s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		writeJSON(w, http.StatusOK, response{
			SessionToken: res.Token, AAL: res.Session.AAL, MFARequired: res.MFARequired,
			EnrollmentRequired: res.EnrollmentRequired, Methods: res.Methods,
			PreferredMethod: strOrNil(res.PreferredMethod),
		})
		return nil
	}
}

func (s *server) handleLoginMFA() handlerFunc {
	type request struct {
		Method string `json:"method"`
		Code   string `json:"code"`
	}
	type response struct {
		SessionToken    string `json:"session_token"`
		AAL             int    `json:"aal"`
		NewRecoveryCode string `json:"new_recovery_code,omitempty"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req); err != nil {
			return err
		}
		res, err := s.svc.VerifyLogin(r.Context(), principalFrom(r.Context()), req.Method, req.Code, s.clientOf(r))
		if err != nil {
			return err
		}
		s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		writeJSON(w, http.StatusOK, response{SessionToken: res.Token, AAL: res.Session.AAL, NewRecoveryCode: res.NewRecoveryCode})
		return nil
	}
}

func (s *server) handleSession() handlerFunc {
	type response struct {
		UserID          int64      `json:"user_id"`
		Email           string     `json:"email"`
		Role            string     `json:"role"`
		AAL             int        `json:"aal"`
		AuthenticatedAt time.Time  `json:"authenticated_at"`
		VerifiedAt      *time.Time `json:"verified_at"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		p := principalFrom(r.Context())
		writeJSON(w, http.StatusOK, response{
			UserID: p.User.ID, Email: p.User.Email, Role: p.User.Role, AAL: p.Session.AAL,
			AuthenticatedAt: p.Session.CreatedAt.UTC(), VerifiedAt: timeOrNil(p.Session.VerifiedAt),
		})
		return nil
	}
}

func (s *server) handleLogout() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.Logout(r.Context(), principalFrom(r.Context())); err != nil {
			return err
		}
		s.clearSessionCookie(w)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
