package web_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/web"
)

// pathParam matches a path wildcard of a route pattern ("{id}", "{rest...}").
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// routeTarget turns a route pattern ("DELETE /api/v1/admin/users/{id}/mfa")
// into a method and a concrete path ("/api/v1/admin/users/1/mfa"). A
// pattern without a method matches every method; GET stands for them.
func routeTarget(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	path = strings.ReplaceAll(path, "{$}", "")
	return method, pathParam.ReplaceAllString(path, "1")
}

// isSafe reports whether a method is one that cross-origin protection lets
// through without checks.
func isSafe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// The routes open to less than a full session. A route added to either
// list must be a deliberate decision, so a change here fails the test
// until the list is updated.
var (
	// openRoutes are reachable without a session ("public", or
	// "monitoring" from the operator's networks) or with an aal1 session
	// ("session"): the sign-in calls, pages and operations.
	openRoutes = map[string]string{
		"POST /api/v1/login":         "public",
		"POST /api/v1/login/mfa/sms": "session",
		"POST /api/v1/login/mfa":     "session",
		"GET /api/v1/session":        "session",
		"POST /api/v1/logout":        "session",
		"GET /api/openapi.json":      "public",
		"GET /api/openapi.yaml":      "public",
		"GET /healthz":               "public",
		"GET /readyz":                "public",
		"GET /metrics":               "monitoring", // loopback and --metrics-from peers
		"GET /{$}":                   "public",
		"GET /login":                 "public",
		"POST /login":                "public",
		"GET /login/mfa":             "session",
		"POST /login/mfa":            "session",
		"POST /login/mfa/sms":        "session",
		"POST /logout":               "session",
		"GET /static/":               "public",
		"GET /dev/outbox":            "public", // --dev only
		"GET /api/v1/dev/outbox":     "public", // --dev only
	}
	// enrollmentRoutes are also open to an aal1 session whose role requires
	// MFA and that has no method yet.
	enrollmentRoutes = []string{
		"POST /api/v1/me/reauth",
		"POST /api/v1/me/totp",
		"POST /api/v1/me/totp/confirm",
		"POST /api/v1/me/phone",
		"POST /api/v1/me/phone/confirm",
	}
)

// TestRouteAccessLevels: the surface open to less than a full session is
// exactly the reviewed lists above, and the OpenAPI document describes
// every API route (requirement F 38).
func TestRouteAccessLevels(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	ops := h.v.Operations()
	for _, rt := range h.server.Routes() {
		switch rt.Access {
		case "public", "session", "monitoring":
			if want, ok := openRoutes[rt.Pattern]; !ok || want != rt.Access {
				t.Errorf("%s: got access %q, want %q (the reviewed list of open routes; empty: not open)", rt.Pattern, rt.Access, want)
			}
		case "enrollment":
			if !slices.Contains(enrollmentRoutes, rt.Pattern) {
				t.Errorf("%s: got access enrollment, which the reviewed list does not allow", rt.Pattern)
			}
		case "full", "admin":
		default:
			t.Errorf("%s: unknown access %q", rt.Pattern, rt.Access)
		}
		_, path, _ := strings.Cut(rt.Pattern, " ")
		if strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/api/openapi.") && !slices.Contains(ops, rt.Pattern) {
			t.Errorf("%s is served but not described in api/openapi.yaml", rt.Pattern)
		}
	}
}

// gated returns the routes an aal1 session must not reach: every route
// that is neither public, nor a sign-in call, nor admin-only, plus (unless
// enrollment is true) the enrolment calls.
func gated(routes []web.Route, enrollment bool) []web.Route {
	var out []web.Route
	for _, rt := range routes {
		if rt.Access == "full" || (rt.Access == "enrollment" && !enrollment) {
			out = append(out, rt)
		}
	}
	return out
}

// walkGated sends every gated route with tok, as a bearer token and as the
// session cookie (same-origin, as a browser would send it), and expects 403
// with the code for the API and the page title for pages.
func walkGated(t *testing.T, h *harness, routes []web.Route, tok, code, pageTitle string) {
	t.Helper()
	if len(routes) == 0 {
		t.Fatal("no gated routes: the walk would prove nothing")
	}
	for _, rt := range routes {
		method, path := routeTarget(rt.Pattern)
		for _, viaCookie := range []bool{false, true} {
			r := req{method: method, path: path, token: tok}
			how := "bearer"
			if viaCookie {
				r = req{method: method, path: path, cookie: tok}
				how = "cookie"
				if !isSafe(method) {
					r.header = map[string]string{"Sec-Fetch-Site": "same-origin"}
				}
			}
			got := h.do(r)
			switch {
			case got.status != http.StatusForbidden:
				t.Errorf("%s (%s): got %d, want 403; body %.200s", rt.Pattern, how, got.status, got.body)
			case strings.HasPrefix(path, "/api/"):
				if c := got.errorCode(t); c != code {
					t.Errorf("%s (%s): got error code %q, want %q", rt.Pattern, how, c, code)
				}
			case !strings.Contains(string(got.body), pageTitle):
				t.Errorf("%s (%s): got page %.200s, want the %q page", rt.Pattern, how, got.body, pageTitle)
			}
		}
	}
}

// TestAAL1RouteWalk: an aal1 session reaches nothing past the sign-in
// calls, by token or by cookie, on any registered route (requirements F 38,
// 46). SQLite only: the guard reads the same factor query on both
// databases, and TestTOTPEnrolAndSignIn walks the API routes on both.
func TestAAL1RouteWalk(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t), withRoles("admin"))
	routes := h.server.Routes()

	t.Run("MFARequired", func(t *testing.T) {
		h.totpUser(t, "olga@example.com")
		tok := h.loginAAL1(t, "olga@example.com")
		walkGated(t, h, gated(routes, false), tok, "mfa_required", "Finish signing in")
		// An admin route never takes a session token.
		for _, rt := range routes {
			if rt.Access != "admin" {
				continue
			}
			method, path := routeTarget(rt.Pattern)
			if got := h.do(req{method: method, path: path, token: tok}); got.status != 401 && got.status != 403 {
				t.Errorf("%s with an aal1 token: got %d, want 401 or 403", rt.Pattern, got.status)
			}
		}
		// The walk changed nothing: the session is still aal1 and the
		// account still has its app.
		s := h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200).json(t)
		if s["aal"] != float64(1) {
			t.Errorf("got session %v after the walk, want aal 1", s)
		}
		h.loginAAL1(t, "olga@example.com")
	})

	// The level comes from the factors the user has: with a factor, a role
	// that requires MFA means the challenge, not enrolment.
	t.Run("RequiredRoleWithFactor", func(t *testing.T) {
		h.addUser("quin@example.com", pw, "admin")
		enrol := h.login("quin@example.com", pw).str(t, "session_token")
		h.reauthPassword(t, enrol)
		h.confirmTOTP(t, enrol, h.startTOTP(t, enrol).secret)
		walkGated(t, h, gated(routes, false), h.loginAAL1(t, "quin@example.com"), "mfa_required", "Finish signing in")
	})

	t.Run("EnrollmentRequired", func(t *testing.T) {
		h.addUser("pat@example.com", pw, "admin")
		r := h.login("pat@example.com", pw)
		if r.json(t)["enrollment_required"] != true {
			t.Fatalf("got login %s, want enrollment_required", r.body)
		}
		walkGated(t, h, gated(routes, true), r.str(t, "session_token"), "enrollment_required", "Finish signing in")
	})
}
