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
func (s *server) handleSendSMS(send func(*server, *http.Request) (*auth.SMSSent, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{}
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		sent, err := send(s, r)
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		writeJSON(w, http.StatusAccepted, smsSentResponse{Phone: sent.Phone, ExpiresIn: int(sent.ExpiresIn.Seconds())})
	})
}

func sendLoginSMS(s *server, r *http.Request) (*auth.SMSSent, error) {
	return s.svc.SendLoginSMS(r.Context(), principalFrom(r.Context()), s.clientOf(r))
}

func sendReauthSMS(s *server, r *http.Request) (*auth.SMSSent, error) {
	return s.svc.SendReauthSMS(r.Context(), principalFrom(r.Context()), s.clientOf(r))
}

func (s *server) handleStartPhone() http.Handler {
	type request struct {
		Phone string `json:"phone"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		if req.Phone == "" {
			writeError(w, r, s.logger, auth.Errorf(auth.KindInvalid, "phone is required"))
			return
		}
		sent, err := s.svc.StartPhone(r.Context(), principalFrom(r.Context()), req.Phone, s.clientOf(r))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		writeJSON(w, http.StatusAccepted, smsSentResponse{Phone: sent.Phone, ExpiresIn: int(sent.ExpiresIn.Seconds())})
	})
}

func (s *server) handleRemovePhone() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.svc.RemovePhone(r.Context(), principalFrom(r.Context()), s.clientOf(r)); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
