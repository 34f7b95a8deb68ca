package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind classifies an error. The web layer maps each Kind to one HTTP status
// and one machine-readable code in a single table; nothing else decides what
// a client is told.
type Kind int

// The kinds of error. Append new kinds at the end.
const (
	KindInternal           Kind = iota // a bug or an unexpected failure; details are logged, never shown
	KindInvalid                        // malformed or missing input (400 invalid_request)
	KindUnauthenticated                // no valid session or token (401)
	KindInvalidCredentials             // wrong email or password (401)
	KindInvalidCode                    // wrong, expired, replayed or foreign code (401)
	KindMFARequired                    // an aal1 session tried a call past the challenge (403)
	KindReauthRequired                 // a change needs a fresh step-up (403, with Methods)
	KindEnrollmentRequired             // the role requires MFA and the user has no method yet (403)
	KindForbidden                      // authenticated, but not allowed (403)
	KindNotFound                       // no such thing (404)
	KindConflict                       // the state does not allow the call (409)
	KindRateLimited                    // too many requests (429, with RetryAfter)
	KindLocked                         // second-factor lockout (429, with RetryAfter)
	KindSMSUnavailable                 // the SMS provider failed (502)
	KindUnavailable                    // the database or another dependency is down (503)
)

// Error is the one error type that crosses package boundaries inside
// Latchkey. Message is safe to show to the user; Err is internal and only
// logged. Neither may contain a secret, code or token.
type Error struct {
	Kind       Kind
	Message    string
	Methods    []string      // with KindReauthRequired: the methods usable for it
	RetryAfter time.Duration // with KindRateLimited and KindLocked
	Err        error         // the internal cause, logged only
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a public message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an *Error of KindInvalid (400 invalid_request) whose
// public message is the formatted text as a sentence. Leaf packages write
// their error strings as lowercase fragments, as Go does; a client reads
// sentences.
func Invalidf(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Message: sentence(fmt.Sprintf(format, args...))}
}

// sentence makes s a sentence: its first letter upper case, a full stop at
// the end unless it ends with one.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// Internal wraps an unexpected error. Its public message says nothing about
// the cause.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Message: "Internal error.", Err: err}
}

// IsKind reports whether err is an *Error of the given kind.
func IsKind(err error, kind Kind) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Kind == kind
}

// ErrNotFound is returned by stores when a row does not exist.
var ErrNotFound = &Error{Kind: KindNotFound, Message: "Not found."}
