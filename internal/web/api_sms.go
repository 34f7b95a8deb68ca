package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
)

// smsSentResponse is the 202 answer of every call that sends a code.
type smsSentResponse struct {
	Phone     string `json:"phone"`
	ExpiresIn int    `json:"expires_in"`
}

// handleSendSMS serves the calls that send a code: send is the service call.
func (s *server) handleSendSMS(send func(*server, *http.Request) (*auth.SMSSent, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req struct{}
		if err := decode(w, r, &req); err != nil {
			return err
		}
		sent, err := send(s, r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, smsSentResponse{Phone: sent.Phone, ExpiresIn: int(sent.ExpiresIn.Seconds())})
		return nil
	}
}

func sendLoginSMS(s *server, r *http.Request) (*auth.SMSSent, error) {
	return s.svc.SendLoginSMS(r.Context(), principalFrom(r.Context()), s.clientOf(r))
}

func sendReauthSMS(s *server, r *http.Request) (*auth.SMSSent, error) {
	return s.svc.SendReauthSMS(r.Context(), principalFrom(r.Context()), s.clientOf(r))
}

func (s *server) handleStartPhone() handlerFunc {
	type request struct {
		Phone string `json:"phone"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if req.Phone == "" {
			return auth.Invalidf("phone is required")
		}
		sent, err := s.svc.StartPhone(r.Context(), principalFrom(r.Context()), req.Phone, s.clientOf(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, smsSentResponse{Phone: sent.Phone, ExpiresIn: int(sent.ExpiresIn.Seconds())})
		return nil
	}
}

func (s *server) handleRemovePhone() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.RemovePhone(r.Context(), principalFrom(r.Context()), s.clientOf(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
