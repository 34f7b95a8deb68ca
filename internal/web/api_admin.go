package web

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/auth"
)

func (s *server) handleAdminCreateUser() handlerFunc {
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
	return func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req); err != nil {
			return err
		}
		u, err := s.svc.CreateUser(r.Context(), req.Email, req.Password, req.Role)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, response{ID: u.ID, Email: u.Email, Role: u.Role})
		return nil
	}
}

func (s *server) handleAdminListUsers() handlerFunc {
	type user struct {
		ID      int64    `json:"id"`
		Email   string   `json:"email"`
		Role    string   `json:"role"`
		Methods []string `json:"methods"`
	}
	type response struct {
		Users []user `json:"users"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		list, err := s.svc.ListUsers(r.Context(), r.URL.Query().Get("email"))
		if err != nil {
			return err
		}
		out := response{Users: make([]user, 0, len(list))}
		for _, u := range list {
			out.Users = append(out.Users, user{ID: u.User.ID, Email: u.User.Email, Role: u.User.Role, Methods: u.Methods})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (s *server) handleAdminResetMFA() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			return auth.Invalidf("id must be a positive integer")
		}
		t := stateFrom(r.Context()).apiToken
		by := "an admin"
		if t != nil {
			by = "admin token " + strconv.Quote(t.Name)
		}
		if err := s.svc.ResetMFA(r.Context(), id, s.clientOf(r), by); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
