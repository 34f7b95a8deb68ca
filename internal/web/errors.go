package web

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// errorStatus maps every error kind to its HTTP status and API code. This is
// the only place that decides what a failure looks like to a client; both
// faces (adapter.go) answer with these statuses.
var errorStatus = map[auth.Kind]errorMapping{
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

// errorMapping is what a kind looks like on the wire.
type errorMapping struct {
	status int
	code   string
}

// statusOf returns the status and code of a kind; a kind missing from the
// table is internal.
func statusOf(k auth.Kind) errorMapping {
	if m, ok := errorStatus[k]; ok {
		return m
	}
	return errorStatus[auth.KindInternal]
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
