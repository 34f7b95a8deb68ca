package web

import "net/http"

// routes registers every route of Latchkey: the whole surface on one screen.
// The second argument says who may call it; anything past the sign-in calls
// needs a full (aal2) session unless it says otherwise.
func (s *server) routes() {
	// Sign-in (API.md "Sign-in"): the only calls an aal1 session reaches.
	s.handle("POST /api/v1/login", accessPublic, s.handleLogin())
	s.handle("POST /api/v1/login/mfa/sms", accessSession, s.handleSendSMS(sendLoginSMS))
	s.handle("POST /api/v1/login/mfa", accessSession, s.handleLoginMFA())
	s.handle("GET /api/v1/session", accessSession, s.handleSession())
	s.handle("POST /api/v1/logout", accessSession, s.handleLogout())

	// Self-service. Enrolment calls are also open to an aal1 session whose
	// role requires MFA and that has no method yet.
	s.handle("GET /api/v1/me/security", accessFull, s.handleSecurity())
	s.handle("POST /api/v1/me/reauth/sms", accessFull, s.handleSendSMS(sendReauthSMS))
	s.handle("POST /api/v1/me/reauth", accessEnrollment, s.handleReauth())
	s.handle("POST /api/v1/me/totp", accessEnrollment, s.handleStartTOTP())
	s.handle("POST /api/v1/me/totp/confirm", accessEnrollment, s.handleConfirm(s.svc.ConfirmTOTP))
	s.handle("DELETE /api/v1/me/totp", accessFull, s.handleRemoveTOTP())
	s.handle("POST /api/v1/me/phone", accessEnrollment, s.handleStartPhone())
	s.handle("POST /api/v1/me/phone/confirm", accessEnrollment, s.handleConfirm(s.svc.ConfirmPhone))
	s.handle("DELETE /api/v1/me/phone", accessFull, s.handleRemovePhone())
	s.handle("POST /api/v1/me/recovery-code", accessFull, s.handleRecoveryCode())
	s.handle("POST /api/v1/me/password", accessFull, s.handleChangePassword())
	s.handle("GET /api/v1/me/events", accessFull, s.handleEvents())

	// Admin API (admin bearer tokens only).
	s.handle("POST /api/v1/admin/users", accessAdmin, s.handleAdminCreateUser())
	s.handle("GET /api/v1/admin/users", accessAdmin, s.handleAdminListUsers())
	s.handle("DELETE /api/v1/admin/users/{id}/mfa", accessAdmin, s.handleAdminResetMFA())

	// The API description.
	s.handle("GET /api/openapi.json", accessPublic, s.handleBytes("application/json", s.opts.OpenAPIJSON))
	s.handle("GET /api/openapi.yaml", accessPublic, s.handleBytes("application/yaml", s.opts.OpenAPIYAML))

	// Operations.
	s.handle("GET /healthz", accessPublic, s.handleHealthz())
	s.handle("GET /readyz", accessPublic, s.handleReadyz())
	if s.opts.MetricsHandler != nil {
		s.handle("GET /metrics", accessMonitoring, s.opts.MetricsHandler)
	}

	// Pages.
	s.handle("GET /{$}", accessPublic, http.RedirectHandler("/account", http.StatusSeeOther))
	s.handle("GET /login", accessPublic, s.pageLogin())
	s.handle("POST /login", accessPublic, s.pageLoginSubmit())
	s.handle("GET /login/mfa", accessSession, s.pageMFA())
	s.handle("POST /login/mfa", accessSession, s.pageMFASubmit())
	s.handle("POST /login/mfa/sms", accessSession, s.pageMFASendSMS())
	s.handle("GET /account", accessFull, s.pageAccount())
	s.handle("POST /logout", accessSession, s.pageLogout())
	s.handle("GET /static/", accessPublic, s.pages.static())
	if s.opts.Dev {
		// Development only: the SMS that would have been sent, codes included.
		s.handle("GET /dev/outbox", accessPublic, s.pageOutbox())
		s.handle("GET /api/v1/dev/outbox", accessPublic, s.handleOutbox())
	}
}
