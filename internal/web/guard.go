package web

import (
	"net/http"
	"net/netip"

	"github.com/latchkey/latchkey/internal/auth"
)

// access says who may call a route. The zero value is the strictest
// session level, so a route registered carelessly is still closed to aal1.
type access int

const (
	accessFull       access = iota // a full (aal2) session
	accessPublic                   // anyone
	accessSession                  // any session, also aal1: the sign-in calls
	accessEnrollment               // aal1 while the role requires enrolment, and full sessions
	accessAdmin                    // an admin API token
	accessMonitoring               // loopback peers and Options.MetricsFrom, by the TCP peer address
)

func (a access) String() string {
	return [...]string{"full", "public", "session", "enrollment", "admin", "monitoring"}[a]
}

// guard wraps the handler of one route, once, at registration. It records
// the route for the log line, lets through only the callers its access
// level allows, and renders every failure, its own refusals and the
// handler's errors, in the route's face.
func (s *server) guard(pattern string, rt route, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateFrom(r.Context())
		st.route, st.face = pattern, rt.face
		err := s.admit(r, st, rt.access)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			s.fail(w, r, rt.face, err)
		}
	})
}

// admit enforces cross-origin protection and who may call a route with
// access a, and leaves the caller it admitted (session or API token) in st.
// Deny by default: only routes registered as public, session or enrollment
// are open to less than a full session.
func (s *server) admit(r *http.Request, st *requestState, a access) error {
	token, bearer := s.credentials(r)
	// Bearer requests carry their credential explicitly, so a browser
	// cannot be tricked into sending it; only the others need the check.
	if !bearer {
		if err := s.cop.Check(r); err != nil {
			return &statusError{http.StatusForbidden, "forbidden", "Cross-origin request refused."}
		}
	}
	switch a {
	case accessPublic:
		return nil
	case accessMonitoring:
		if !s.isMonitoringPeer(r) {
			// 404, as if the route did not exist: nothing tells a
			// stranger that metrics are served here.
			return auth.Errorf(auth.KindNotFound, "Not found.")
		}
		return nil
	case accessAdmin:
		if !bearer || token == "" {
			// Bearer only: a token in a cookie is sent by the browser on
			// its own, so the admin API would be one forged request away.
			return auth.Errorf(auth.KindUnauthenticated, "The admin API needs an admin API token in the Authorization: Bearer header; a cookie is not accepted.")
		}
		t, err := s.svc.AuthenticateAPIToken(r.Context(), token)
		if err != nil {
			return err
		}
		if !t.Admin {
			return auth.Errorf(auth.KindForbidden, "This call needs an admin API token.")
		}
		st.apiToken = t
		return nil
	}
	if auth.IsAPIToken(token) {
		return auth.Errorf(auth.KindUnauthenticated, "API tokens cannot act as a user session; sign in.")
	}
	p, err := s.svc.Authenticate(r.Context(), token)
	if err != nil {
		return err
	}
	gate, err := s.svc.GateFor(r.Context(), p)
	if err != nil {
		return err // fail closed
	}
	allowed := a == accessSession || gate == auth.GateFull ||
		(a == accessEnrollment && gate == auth.GateEnrollment)
	if !allowed {
		if gate == auth.GateEnrollment {
			return auth.Errorf(auth.KindEnrollmentRequired, "Your role requires a second factor: add an authenticator app or a phone first.")
		}
		return auth.Errorf(auth.KindMFARequired, "Complete the second-factor challenge first.")
	}
	st.principal = p
	return nil
}

// isMonitoringPeer reports whether r may read the monitoring routes: its TCP
// peer is a loopback address or in Options.MetricsFrom, and it was not
// forwarded. The peer address is the only one that cannot be forged;
// X-Forwarded-For can, so it never grants access. A forwarded request is
// refused even from an allowed peer: a reverse proxy on the same host
// connects from loopback on behalf of anyone on the internet.
func (s *server) isMonitoringPeer(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false // fail closed
	}
	// A zoned address (fe80::1%eth0) is in no prefix; compare without it.
	a := ap.Addr().Unmap().WithZone("")
	return a.IsLoopback() || isTrusted(a, s.opts.MetricsFrom)
}
