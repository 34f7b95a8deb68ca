package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
)

// handlerFunc is a handler that returns its failure instead of writing it;
// the route's face renders it. A handler returns an error only before it
// has written anything.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// fromHandler makes a plain http.Handler, which never fails, a handlerFunc.
func fromHandler(h http.Handler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// face is how a route shows a failure, declared per route in routes.go: a
// program gets JSON, a person gets a page. The same error gets the same
// status in both.
type face int

const (
	faceAPI  face = iota // JSON in the documented error shape
	facePage             // the form again with the message, or the error page
)

func (f face) String() string { return [...]string{"api", "page"}[f] }

// fail renders err in face f. Every failure goes through here: the errors
// handlers return and the guard's refusals. Internal causes are logged with
// the request id; the client sees only the public message.
func (s *server) fail(w http.ResponseWriter, r *http.Request, f face, err error) {
	s.logFailure(r, err)
	if e, ok := errors.AsType[*auth.Error](err); ok && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(e.RetryAfter))
	}
	if f == facePage {
		s.failPage(w, r, err)
		return
	}
	writeErrorJSON(w, err)
}

// logFailure logs an internal error with its cause, and the cause of any
// other failure that has one (a provider's answer, say) as a warning.
func (s *server) logFailure(r *http.Request, err error) {
	if _, ok := errors.AsType[*statusError](err); ok {
		return
	}
	e := asAuthError(err)
	switch {
	case e.Kind == auth.KindInternal:
		s.logger.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", requestIDFrom(r.Context())), slog.Any("err", err))
	case e.Err != nil:
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, "request failed",
			slog.String("request_id", requestIDFrom(r.Context())), slog.String("code", statusOf(e.Kind).code), slog.Any("err", e.Err))
	}
}

// asAuthError returns the *auth.Error in err's chain; any other error is
// internal.
func asAuthError(err error) *auth.Error {
	if e, ok := errors.AsType[*auth.Error](err); ok {
		return e
	}
	return auth.Internal(err)
}

// writeErrorJSON writes err in the documented error shape.
func writeErrorJSON(w http.ResponseWriter, err error) {
	if se, ok := errors.AsType[*statusError](err); ok {
		writeJSON(w, se.status, errorBody{Error: errorDetail{Code: se.code, Message: se.message}})
		return
	}
	e := asAuthError(err)
	m := statusOf(e.Kind)
	body := errorBody{Error: errorDetail{Code: m.code, Message: e.Message}}
	if e.Kind == auth.KindReauthRequired {
		body.Error.Methods = e.Methods
	}
	writeJSON(w, m.status, body)
}

// showForm renders a form again, with the message of a failed submission
// and the status the API would give it; it may fail as a handler does.
type showForm func(w http.ResponseWriter, r *http.Request, status int, msg string) error

// formError is a failed form submission that the page face answers by
// showing the form again, with the public message and the status the API
// would give.
type formError struct {
	err  error
	show showForm
}

func (e *formError) Error() string { return e.err.Error() }
func (e *formError) Unwrap() error { return e.err }

// retryForm returns err as a failure of a form: the page face shows it by
// calling show, which renders the form again with msg, unless err is
// internal or the session is gone, which no form can mend: those get the
// error page.
func retryForm(err error, show showForm) error {
	return &formError{err: err, show: show}
}

// errUnreadableForm answers a form body that does not parse.
var errUnreadableForm = auth.Invalidf("The form could not be read.")

// failPage shows err to a person: the form again for a failed form
// submission, else the error page with the status the API would give.
func (s *server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	if fe, ok := errors.AsType[*formError](err); ok {
		e, ok := errors.AsType[*auth.Error](fe.err)
		if ok && e.Kind != auth.KindInternal && e.Kind != auth.KindUnauthenticated {
			showErr := fe.show(w, r, statusOf(e.Kind).status, e.Message)
			if showErr == nil {
				return
			}
			s.logFailure(r, showErr)
			err = showErr
		}
	}
	var status int
	var title, msg string
	if se, ok := errors.AsType[*statusError](err); ok {
		status, title, msg = se.status, http.StatusText(se.status), se.message
	} else {
		e := asAuthError(err)
		status, msg = statusOf(e.Kind).status, e.Message
		switch e.Kind {
		case auth.KindMFARequired, auth.KindEnrollmentRequired:
			title = "Finish signing in"
		case auth.KindUnauthenticated:
			title = "Please sign in"
		default:
			title = http.StatusText(status)
		}
	}
	s.pages.render(w, status, errorPage{layout: layout{Title: title}, Message: msg})
}
