package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// requestState is what the layers of one request share through its
// context: serveHTTP creates it, the route's guard fills in the rest.
type requestState struct {
	id        string          // the request id: X-Request-Id and the log lines
	route     string          // the matched pattern ("" if no route matched)
	face      face            // the matched route's face
	principal *auth.Principal // the session, on routes that need one
	apiToken  *auth.APIToken  // the admin API token, on admin routes
}

type ctxKey struct{}

// stateFrom returns the request's state; a request that did not come through
// serveHTTP gets an empty one.
func stateFrom(ctx context.Context) *requestState {
	if st, ok := ctx.Value(ctxKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

// requestIDFrom returns the id the request's log line and X-Request-Id carry.
func requestIDFrom(ctx context.Context) string { return stateFrom(ctx).id }

// principalFrom returns the session the guard admitted (nil on routes that
// need none).
func principalFrom(ctx context.Context) *auth.Principal { return stateFrom(ctx).principal }

// statusRecorder remembers the status for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// serveHTTP is the outermost handler: the request id, the security headers,
// the log line, the metrics and panic capture wrap every request. The mux
// then routes it, once, to the route's guard (see handle), which records
// the route it matched; a request no route matched is logged as
// "unmatched" and gets the mux's 404 or 405.
func (s *server) serveHTTP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		st := &requestState{id: newRequestID()}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		s.securityHeaders(rec.Header(), st.id)
		defer func() {
			if v := recover(); v != nil {
				s.logger.ErrorContext(r.Context(), "panic", "request_id", st.id, "panic", fmt.Sprint(v))
				if rec.status == 0 {
					s.fail(rec, r, st.face, auth.Internal(fmt.Errorf("panic: %v", v)))
				}
			}
			label := st.route
			if label == "" {
				label = "unmatched"
			}
			d := time.Since(start)
			s.metrics.observe(label, rec.status, d)
			// Only the path: no query string, no header, no body ever reaches
			// the log, so no token, code or password can.
			// LogAttrs with typed attributes: the line of every request is
			// built without boxing its values.
			s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", st.id), slog.String("method", r.Method), slog.String("route", label),
				slog.String("path", r.URL.Path), slog.Int("status", rec.status),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("ip", s.clientOf(r).IP))
		}()
		s.mux.ServeHTTP(rec, r)
	})
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// securityHeaders are set on every answer. The CSP allows no inline script
// and no third-party origin; frame-ancestors 'none' stops clickjacking.
func (s *server) securityHeaders(h http.Header, reqID string) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("X-Request-Id", reqID)
	if !s.opts.Dev {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}
