// Package web serves Latchkey's JSON API and HTML pages over net/http. Both
// faces call the same auth.Service; no rule lives only here.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/internal/auth"
)

// Options configure the server.
type Options struct {
	Dev            bool           // plain-HTTP cookie name, no HSTS, dev pages
	TrustedProxies []netip.Prefix // X-Forwarded-For is honoured only from these
	OpenAPIJSON    []byte
	OpenAPIYAML    []byte
	// Ready checks the database for /readyz.
	Ready func(ctx context.Context) error
	// Metrics is the registry the server registers its collectors in.
	Metrics *prometheus.Registry
	// Outbox lists the development SMS outbox (nil: empty).
	Outbox func() []OutboxMessage
	// MetricsHandler serves /metrics (nil: not served).
	MetricsHandler http.Handler
	// MetricsFrom are the networks, besides loopback, whose direct peers
	// may read /metrics; everyone else gets 404.
	MetricsFrom []netip.Prefix
}

// server holds the dependencies every handler reaches.
type server struct {
	svc        *auth.Service
	logger     *slog.Logger
	opts       Options
	registered map[string]route // route pattern -> who may call it and its face
	mux        *http.ServeMux
	metrics    *httpMetrics
	cop        *http.CrossOriginProtection
	pages      *pages
}

// Server is the whole HTTP surface of Latchkey.
type Server struct {
	handler http.Handler
	s       *server
}

func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { srv.handler.ServeHTTP(w, r) }

// Route is a registered route, who may call it and how it shows a failure.
type Route struct {
	Pattern string // "METHOD /path"
	Access  string // "public", "session", "enrollment", "full", "admin" or "monitoring"
	Face    string // "api" (JSON errors) or "page" (HTML)
}

// Routes lists every registered route, sorted by pattern.
func (srv *Server) Routes() []Route {
	out := make([]Route, 0, len(srv.s.registered))
	for p, rt := range srv.s.registered {
		out = append(out, Route{Pattern: p, Access: rt.access.String(), Face: rt.face.String()})
	}
	slices.SortFunc(out, func(a, b Route) int { return strings.Compare(a.Pattern, b.Pattern) })
	return out
}

// NewServer returns the whole HTTP surface of Latchkey.
func NewServer(logger *slog.Logger, opts Options, svc *auth.Service) (*Server, error) {
	s := &server{
		svc:        svc,
		logger:     logger,
		opts:       opts,
		registered: map[string]route{},
		mux:        http.NewServeMux(),
		metrics:    newHTTPMetrics(opts.Metrics),
		cop:        http.NewCrossOriginProtection(),
	}
	p, err := newPages(opts.Dev)
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.routes()
	return &Server{handler: s.serveHTTP(), s: s}, nil
}

// cookieName is the session cookie. The __Host- prefix pins it to this exact
// host over HTTPS with Path=/ and no Domain; plain-HTTP dev cannot use it.
func (s *server) cookieName() string {
	if s.opts.Dev {
		return "latchkey_session"
	}
	return "__Host-latchkey_session"
}

// setSessionCookie sets the session cookie: HttpOnly (no script may read
// it), SameSite=Lax (not sent on cross-site POSTs) and Secure outside dev.
func (s *server) setSessionCookie(w http.ResponseWriter, token string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: token, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: !s.opts.Dev, SameSite: http.SameSiteLaxMode,
	})
}

func (s *server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: !s.opts.Dev, SameSite: http.SameSiteLaxMode,
	})
}

// credentials returns the token the request presents and whether it came
// as a bearer token (as opposed to the cookie).
func (s *server) credentials(r *http.Request) (token string, bearer bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), true
		}
		// Any other scheme (Basic, ...) is no credential: no side door.
		return "", true
	}
	if c, err := r.Cookie(s.cookieName()); err == nil {
		return c.Value, false
	}
	return "", false
}

// clientOf returns the IP and user agent of a request. X-Forwarded-For is
// honoured only from configured proxies; a malformed value is ignored.
func (s *server) clientOf(r *http.Request) auth.Client {
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return auth.Client{IP: clientIP(r, s.opts.TrustedProxies), UserAgent: ua}
}

func clientIP(r *http.Request, trusted []netip.Prefix) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := ap.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr.String()
	}
	// Walk X-Forwarded-For from the right, skipping our own proxies.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a.String()
		}
		addr = a
	}
	return addr.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
