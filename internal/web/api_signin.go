package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// timeOrNil renders a zero time as JSON null.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *server) handleLogin() http.Handler {
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		prev, _ := s.credentials(r)
		res, err := s.svc.Login(r.Context(), req.Email, req.Password, s.clientOf(r), prev)
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		writeJSON(w, http.StatusOK, response{
			SessionToken: res.Token, AAL: res.Session.AAL, MFARequired: res.MFARequired,
			EnrollmentRequired: res.EnrollmentRequired, Methods: res.Methods,
			PreferredMethod: strOrNil(res.PreferredMethod),
		})
	})
}

func (s *server) handleLoginMFA() http.Handler {
	type request struct {
		Method string `json:"method"`
		Code   string `json:"code"`
	}
	type response struct {
		SessionToken    string `json:"session_token"`
		AAL             int    `json:"aal"`
		NewRecoveryCode string `json:"new_recovery_code,omitempty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		res, err := s.svc.VerifyLogin(r.Context(), principalFrom(r.Context()), req.Method, req.Code, s.clientOf(r))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		writeJSON(w, http.StatusOK, response{SessionToken: res.Token, AAL: res.Session.AAL, NewRecoveryCode: res.NewRecoveryCode})
	})
}

func (s *server) handleSession() http.Handler {
	type response struct {
		UserID          int64      `json:"user_id"`
		Email           string     `json:"email"`
		Role            string     `json:"role"`
		AAL             int        `json:"aal"`
		AuthenticatedAt time.Time  `json:"authenticated_at"`
		VerifiedAt      *time.Time `json:"verified_at"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		writeJSON(w, http.StatusOK, response{
			UserID: p.User.ID, Email: p.User.Email, Role: p.User.Role, AAL: p.Session.AAL,
			AuthenticatedAt: p.Session.CreatedAt.UTC(), VerifiedAt: timeOrNil(p.Session.VerifiedAt),
		})
	})
}

func (s *server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.svc.Logout(r.Context(), principalFrom(r.Context())); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		s.clearSessionCookie(w)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleSecurity() http.Handler {
	type totpState struct {
		Enabled    bool       `json:"enabled"`
		EnrolledAt *time.Time `json:"enrolled_at"`
		Pending    bool       `json:"pending"`
	}
	type smsState struct {
		Enabled bool    `json:"enabled"`
		Phone   *string `json:"phone"`
		Pending bool    `json:"pending"`
	}
	type recoveryState struct {
		Exists    bool       `json:"exists"`
		CreatedAt *time.Time `json:"created_at"`
	}
	type response struct {
		TOTP         totpState     `json:"totp"`
		SMS          smsState      `json:"sms"`
		RecoveryCode recoveryState `json:"recovery_code"`
		Methods      []string      `json:"methods"`
		ReauthUntil  *time.Time    `json:"reauth_until"`
		ReauthMethod *string       `json:"reauth_method"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sec, err := s.svc.SecurityOverview(r.Context(), principalFrom(r.Context()))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		writeJSON(w, http.StatusOK, response{
			TOTP:         totpState{Enabled: sec.TOTPEnabled, EnrolledAt: timeOrNil(sec.TOTPEnrolledAt), Pending: sec.TOTPPending},
			SMS:          smsState{Enabled: sec.SMSEnabled, Phone: strOrNil(sec.Phone), Pending: sec.PhonePending},
			RecoveryCode: recoveryState{Exists: sec.RecoveryCode, CreatedAt: timeOrNil(sec.RecoveryCodeAt)},
			Methods:      sec.Methods,
			ReauthUntil:  timeOrNil(sec.ReauthUntil),
			ReauthMethod: strOrNil(sec.ReauthMethod),
		})
	})
}

func (s *server) handleReauth() http.Handler {
	type request struct {
		Method   string `json:"method"`
		Code     string `json:"code"`
		Password string `json:"password"`
	}
	type response struct {
		ReauthUntil     time.Time `json:"reauth_until"`
		NewRecoveryCode string    `json:"new_recovery_code,omitempty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		res, err := s.svc.Reauth(r.Context(), principalFrom(r.Context()), req.Method, req.Code, req.Password, s.clientOf(r))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		writeJSON(w, http.StatusOK, response{ReauthUntil: res.Until.UTC(), NewRecoveryCode: res.NewRecoveryCode})
	})
}

func (s *server) handleStartTOTP() http.Handler {
	type response struct {
		Secret     string `json:"secret"`
		OTPAuthURI string `json:"otpauth_uri"`
		QRPNG      string `json:"qr_png"`
		QRSVG      string `json:"qr_svg"`
		ExpiresIn  int    `json:"expires_in"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{}
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		e, err := s.svc.StartTOTP(r.Context(), principalFrom(r.Context()))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, response{
			Secret: e.Secret, OTPAuthURI: e.URI, QRPNG: base64.StdEncoding.EncodeToString(e.QRPNG),
			QRSVG: string(e.QRSVG), ExpiresIn: int(e.ExpiresIn.Seconds()),
		})
	})
}

// handleConfirm serves the calls that confirm a new method with a code
// (app or phone): confirm is the service call.
func (s *server) handleConfirm(confirm func(context.Context, *auth.Principal, string, auth.Client) (*auth.ConfirmResult, error)) http.Handler {
	type request struct {
		Code string `json:"code"`
	}
	type response struct {
		RecoveryCode string `json:"recovery_code"`
		SessionToken string `json:"session_token,omitempty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		res, err := confirm(r.Context(), principalFrom(r.Context()), req.Code, s.clientOf(r))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		if res.Token != "" {
			// An enrolment-only session was promoted under a new token.
			s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		}
		writeJSON(w, http.StatusOK, response{RecoveryCode: res.RecoveryCode, SessionToken: res.Token})
	})
}

func (s *server) handleRemoveTOTP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.svc.RemoveTOTP(r.Context(), principalFrom(r.Context()), s.clientOf(r)); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleRecoveryCode() http.Handler {
	type response struct {
		RecoveryCode string `json:"recovery_code"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{}
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		code, err := s.svc.RegenerateRecoveryCode(r.Context(), principalFrom(r.Context()), s.clientOf(r))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, response{RecoveryCode: code})
	})
}

func (s *server) handleChangePassword() http.Handler {
	type request struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		if err := s.svc.ChangePassword(r.Context(), principalFrom(r.Context()), req.CurrentPassword, req.NewPassword, s.clientOf(r)); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleEvents() http.Handler {
	type event struct {
		Type      string    `json:"type"`
		At        time.Time `json:"at"`
		IP        string    `json:"ip"`
		UserAgent string    `json:"user_agent"`
		Detail    string    `json:"detail"`
	}
	type response struct {
		Events []event `json:"events"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evs, err := s.svc.ListEvents(r.Context(), principalFrom(r.Context()))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		out := response{Events: make([]event, 0, len(evs))}
		for _, e := range evs {
			out.Events = append(out.Events, event{Type: e.Type, At: e.At.UTC(), IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail})
		}
		writeJSON(w, http.StatusOK, out)
	})
}
