package web

import "net/http"

// routes registers every route of Latchkey: the whole surface on one screen.
// api or page is the route's face, how its failures (and the guard's
// refusals) are shown: JSON for programs, HTML for people. The second
// argument says who may call it; anything past the sign-in calls needs a
// full (aal2) session unless it says otherwise.
func (s *server) routes() {
	// Sign-in (API.md "Sign-in"): the only calls an aal1 session reaches.
	s.api("POST /api/v1/login", accessPublic, s.handleLogin())
	s.api("POST /api/v1/login/mfa/sms", accessSession, s.handleSendSMS(sendLoginSMS))
	s.api("POST /api/v1/login/mfa", accessSession, s.handleLoginMFA())
	s.api("GET /api/v1/session", accessSession, s.handleSession())
	s.api("POST /api/v1/logout", accessSession, s.handleLogout())

	// Self-service. Enrolment calls are also open to an aal1 session whose
	// role requires MFA and that has no method yet.
	s.api("GET /api/v1/me/security", accessFull, s.handleSecurity())
	s.api("POST /api/v1/me/reauth/sms", accessFull, s.handleSendSMS(sendReauthSMS))
	s.api("POST /api/v1/me/reauth", accessEnrollment, s.handleReauth())
	s.api("POST /api/v1/me/totp", accessEnrollment, s.handleStartTOTP())
	s.api("POST /api/v1/me/totp/confirm", accessEnrollment, s.handleConfirm(s.svc.ConfirmTOTP))
	s.api("DELETE /api/v1/me/totp", accessFull, s.handleRemoveTOTP())
	s.api("POST /api/v1/me/phone", accessEnrollment, s.handleStartPhone())
	s.api("POST /api/v1/me/phone/confirm", accessEnrollment, s.handleConfirm(s.svc.ConfirmPhone))
	s.api("DELETE /api/v1/me/phone", accessFull, s.handleRemovePhone())
	s.api("POST /api/v1/me/recovery-code", accessFull, s.handleRecoveryCode())
	s.api("POST /api/v1/me/password", accessFull, s.handleChangePassword())
	s.api("GET /api/v1/me/events", accessFull, s.handleEvents())

	// Admin API (admin bearer tokens only).
	s.api("POST /api/v1/admin/users", accessAdmin, s.handleAdminCreateUser())
	s.api("GET /api/v1/admin/users", accessAdmin, s.handleAdminListUsers())
	s.api("DELETE /api/v1/admin/users/{id}/mfa", accessAdmin, s.handleAdminResetMFA())

	// The API description.
	s.api("GET /api/openapi.json", accessPublic, s.handleBytes("application/json", s.opts.OpenAPIJSON))
	s.api("GET /api/openapi.yaml", accessPublic, s.handleBytes("application/yaml", s.opts.OpenAPIYAML))

	// Operations.
	s.api("GET /healthz", accessPublic, s.handleHealthz())
	s.api("GET /readyz", accessPublic, s.handleReadyz())
	if s.opts.MetricsHandler != nil {
		s.api("GET /metrics", accessMonitoring, fromHandler(s.opts.MetricsHandler))
	}

	// Pages.
	s.page("GET /{$}", accessPublic, fromHandler(http.RedirectHandler("/account", http.StatusSeeOther)))
	s.page("GET /login", accessPublic, s.pageLogin())
	s.page("POST /login", accessPublic, s.pageLoginSubmit())
	s.page("GET /login/mfa", accessSession, s.pageMFA())
	s.page("POST /login/mfa", accessSession, s.pageMFASubmit())
	s.page("POST /login/mfa/sms", accessSession, s.pageMFASendSMS())
	s.page("GET /account", accessFull, s.pageAccount())
	s.page("POST /logout", accessSession, s.pageLogout())
	s.page("GET /static/", accessPublic, fromHandler(s.pages.static()))
	if s.opts.Dev {
		// Development only: the SMS that would have been sent, codes included.
		s.page("GET /dev/outbox", accessPublic, s.pageOutbox())
		s.api("GET /api/v1/dev/outbox", accessPublic, s.handleOutbox())
	}
}

// route is what routes.go declares about a route besides its handler.
type route struct {
	access access // who may call it; the zero value needs a full (aal2) session
	face   face   // how its failures are shown
}

// api registers a route of the JSON API: its failures are JSON.
func (s *server) api(pattern string, a access, h handlerFunc) {
	s.handle(pattern, route{a, faceAPI}, h)
}

// page registers a route a person opens in a browser: its failures are pages.
func (s *server) page(pattern string, a access, h handlerFunc) {
	s.handle(pattern, route{a, facePage}, h)
}

// handle registers a route behind its guard. Routes are denied by default:
// a route registered without a level needs a full (aal2) session.
func (s *server) handle(pattern string, rt route, h handlerFunc) {
	s.registered[pattern] = rt
	s.mux.Handle(pattern, s.guard(pattern, rt, h))
}
