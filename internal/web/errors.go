package web

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// errorStatus maps every error kind to its HTTP status and API code. This is
// the only place that decides what a failure looks like to a client.
var errorStatus = map[auth.Kind]struct {
	status int
	code   string
}{
	auth.KindInternal:           {http.StatusInternalServerError, "internal"},
	auth.KindInvalid:            {http.StatusBadRequest, "invalid_request"},
	auth.KindUnauthenticated:    {http.StatusUnauthorized, "unauthenticated"},
	auth.KindInvalidCredentials: {http.StatusUnauthorized, "invalid_credentials"},
	auth.KindInvalidCode:        {http.StatusUnauthorized, "invalid_code"},
	auth.KindMFARequired:        {http.StatusForbidden, "mfa_required"},
	auth.KindReauthRequired:     {http.StatusForbidden, "reauth_required"},
	auth.KindEnrollmentRequired: {http.StatusForbidden, "enrollment_required"},
	auth.KindForbidden:          {http.StatusForbidden, "forbidden"},
	auth.KindNotFound:           {http.StatusNotFound, "not_found"},
	auth.KindConflict:           {http.StatusConflict, "conflict"},
	auth.KindRateLimited:        {http.StatusTooManyRequests, "rate_limited"},
	auth.KindLocked:             {http.StatusTooManyRequests, "locked"},
	auth.KindSMSUnavailable:     {http.StatusBadGateway, "sms_unavailable"},
	auth.KindUnavailable:        {http.StatusServiceUnavailable, "unavailable"},
}

// retryAfterSeconds renders a wait as whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// errorBody is the documented error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Methods []string `json:"methods,omitempty"`
}

// statusError is an HTTP-level failure that has no domain kind (413, 415, 405).
type statusError struct {
	status  int
	code    string
	message string
}

func (e *statusError) Error() string { return e.message }

// writeError renders err in the documented shape. Internal errors are logged
// with their cause; the client only ever sees the public message.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	if se, ok := errors.AsType[*statusError](err); ok {
		writeJSON(w, se.status, errorBody{Error: errorDetail{Code: se.code, Message: se.message}})
		return
	}
	e, ok := errors.AsType[*auth.Error](err)
	if !ok {
		e = auth.Internal(err)
	}
	m, ok := errorStatus[e.Kind]
	if !ok {
		m = errorStatus[auth.KindInternal]
	}
	switch {
	case e.Kind == auth.KindInternal:
		logger.ErrorContext(r.Context(), "internal error", "err", err)
	case e.Err != nil:
		logger.WarnContext(r.Context(), "request failed", "code", m.code, "err", e.Err)
	}
	writeRetryAfter(w, e)
	body := errorBody{Error: errorDetail{Code: m.code, Message: e.Message}}
	if e.Kind == auth.KindReauthRequired {
		body.Error.Methods = e.Methods
	}
	writeJSON(w, m.status, body)
}
