package web

import (
	"net/http"
	"time"
)

// OutboxMessage is an SMS kept by the development outbox.
type OutboxMessage struct {
	To      string
	Body    string
	Purpose string // login, reauth, enroll or notice
	At      time.Time
}

func (s *server) pageOutbox() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var msgs []OutboxMessage
		if s.opts.Outbox != nil {
			msgs = s.opts.Outbox()
		}
		s.pages.render(w, http.StatusOK, outboxPage{layout: layout{Title: "SMS outbox"}, Messages: msgs})
		return nil
	}
}

func (s *server) handleOutbox() handlerFunc {
	type message struct {
		To      string    `json:"to"`
		Body    string    `json:"body"`
		Purpose string    `json:"purpose"`
		At      time.Time `json:"at"`
	}
	type response struct {
		Messages []message `json:"messages"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		out := response{Messages: []message{}}
		if s.opts.Outbox != nil {
			for _, m := range s.opts.Outbox() {
				out.Messages = append(out.Messages, message{To: m.To, Body: m.Body, Purpose: m.Purpose, At: m.At.UTC()})
			}
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}
