package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

func (s *server) handleSecurity() handlerFunc {
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
	return func(w http.ResponseWriter, r *http.Request) error {
		sec, err := s.svc.SecurityOverview(r.Context(), principalFrom(r.Context()))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, response{
			TOTP:         totpState{Enabled: sec.TOTPEnabled, EnrolledAt: timeOrNil(sec.TOTPEnrolledAt), Pending: sec.TOTPPending},
			SMS:          smsState{Enabled: sec.SMSEnabled, Phone: strOrNil(sec.Phone), Pending: sec.PhonePending},
			RecoveryCode: recoveryState{Exists: sec.RecoveryCode, CreatedAt: timeOrNil(sec.RecoveryCodeAt)},
			Methods:      sec.Methods,
			ReauthUntil:  timeOrNil(sec.ReauthUntil),
			ReauthMethod: strOrNil(sec.ReauthMethod),
		})
		return nil
	}
}

func (s *server) handleReauth() handlerFunc {
	type request struct {
		Method   string `json:"method"`
		Code     string `json:"code"`
		Password string `json:"password"`
	}
	type response struct {
		ReauthUntil     time.Time `json:"reauth_until"`
		NewRecoveryCode string    `json:"new_recovery_code,omitempty"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req); err != nil {
			return err
		}
		res, err := s.svc.Reauth(r.Context(), principalFrom(r.Context()), req.Method, req.Code, req.Password, s.clientOf(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, response{ReauthUntil: res.Until.UTC(), NewRecoveryCode: res.NewRecoveryCode})
		return nil
	}
}

func (s *server) handleStartTOTP() handlerFunc {
	type response struct {
		Secret     string `json:"secret"`
		OTPAuthURI string `json:"otpauth_uri"`
		QRPNG      string `json:"qr_png"`
		QRSVG      string `json:"qr_svg"`
		ExpiresIn  int    `json:"expires_in"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var req struct{}
		if err := decode(w, r, &req); err != nil {
			return err
		}
		e, err := s.svc.StartTOTP(r.Context(), principalFrom(r.Context()))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, response{
			Secret: e.Secret, OTPAuthURI: e.URI, QRPNG: base64.StdEncoding.EncodeToString(e.QRPNG),
			QRSVG: string(e.QRSVG), ExpiresIn: int(e.ExpiresIn.Seconds()),
		})
		return nil
	}
}

// handleConfirm serves the calls that confirm a new method with a code
// (app or phone): confirm is the service call.
func (s *server) handleConfirm(confirm func(context.Context, *auth.Principal, string, auth.Client) (*auth.ConfirmResult, error)) handlerFunc {
	type request struct {
		Code string `json:"code"`
	}
	type response struct {
		RecoveryCode string `json:"recovery_code"`
		SessionToken string `json:"session_token,omitempty"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req); err != nil {
			return err
		}
		res, err := confirm(r.Context(), principalFrom(r.Context()), req.Code, s.clientOf(r))
		if err != nil {
			return err
		}
		if res.Token != "" {
			// An enrolment-only session was promoted under a new token.
			s.setSessionCookie(w, res.Token, s.svc.Config().SessionAbsolute)
		}
		writeJSON(w, http.StatusOK, response{RecoveryCode: res.RecoveryCode, SessionToken: res.Token})
		return nil
	}
}

func (s *server) handleRemoveTOTP() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.RemoveTOTP(r.Context(), principalFrom(r.Context()), s.clientOf(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *server) handleRecoveryCode() handlerFunc {
	type response struct {
		RecoveryCode string `json:"recovery_code"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var req struct{}
		if err := decode(w, r, &req); err != nil {
			return err
		}
		code, err := s.svc.RegenerateRecoveryCode(r.Context(), principalFrom(r.Context()), s.clientOf(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, response{RecoveryCode: code})
		return nil
	}
}

func (s *server) handleChangePassword() handlerFunc {
	type request struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if err := s.svc.ChangePassword(r.Context(), principalFrom(r.Context()), req.CurrentPassword, req.NewPassword, s.clientOf(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *server) handleEvents() handlerFunc {
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
	return func(w http.ResponseWriter, r *http.Request) error {
		evs, err := s.svc.ListEvents(r.Context(), principalFrom(r.Context()))
		if err != nil {
			return err
		}
		out := response{Events: make([]event, 0, len(evs))}
		for _, e := range evs {
			out.Events = append(out.Events, event{Type: e.Type, At: e.At.UTC(), IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}
