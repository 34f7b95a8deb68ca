package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

func (s *server) handleAdminCreateUser() http.Handler {
	type request struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	type response struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		u, err := s.svc.CreateUser(r.Context(), req.Email, req.Password, req.Role)
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, response{ID: u.ID, Email: u.Email, Role: u.Role})
	})
}

func (s *server) handleAdminListUsers() http.Handler {
	type user struct {
		ID      int64    `json:"id"`
		Email   string   `json:"email"`
		Role    string   `json:"role"`
		Methods []string `json:"methods"`
	}
	type response struct {
		Users []user `json:"users"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.svc.ListUsers(r.Context(), r.URL.Query().Get("email"))
		if err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		out := response{Users: make([]user, 0, len(list))}
		for _, u := range list {
			out.Users = append(out.Users, user{ID: u.User.ID, Email: u.User.Email, Role: u.User.Role, Methods: u.Methods})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func (s *server) handleAdminResetMFA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(w, r, s.logger, auth.Errorf(auth.KindInvalid, "id must be a positive integer"))
			return
		}
		t, _ := r.Context().Value(apiTokenKey).(*auth.APIToken)
		by := "an admin"
		if t != nil {
			by = "admin token " + strconv.Quote(t.Name)
		}
		if err := s.svc.ResetMFA(r.Context(), id, s.clientOf(r), by); err != nil {
			writeError(w, r, s.logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleBytes(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})
}

func (s *server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
}

func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.opts.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := s.opts.Ready(ctx); err != nil {
				s.logger.WarnContext(r.Context(), "not ready", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("database unavailable\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

func (s *server) handleOutbox() http.Handler {
	type message struct {
		To      string    `json:"to"`
		Body    string    `json:"body"`
		Purpose string    `json:"purpose"`
		At      time.Time `json:"at"`
	}
	type response struct {
		Messages []message `json:"messages"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := response{Messages: []message{}}
		if s.opts.Outbox != nil {
			for _, m := range s.opts.Outbox() {
				out.Messages = append(out.Messages, message{To: m.To, Body: m.Body, Purpose: m.Purpose, At: m.At.UTC()})
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
}
