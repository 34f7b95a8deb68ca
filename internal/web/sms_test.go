package web_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestSMSAddPhone: adding a number needs a step-up, sends one code to it,
// and the number is a method only once that code is entered (requirements
// C 19, 22; H 56, 59, 63, 64).
func TestSMSAddPhone(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn, withRoles("admin"))
		h.addUser("olga@example.com", pw, "")
		tok := h.loginAAL2(t, "olga@example.com")

		r := h.startPhone(tok, typedA).want(t, 403, "reauth_required")
		if got := r.errorMethods(t); !slices.Equal(got, []string{"password"}) {
			t.Errorf("got error.methods %v, want [password]", got)
		}
		// Without a phone, there is nothing to send a step-up code to.
		h.send(pathReauthSMS, tok).want(t, 409, "conflict")
		if n := len(h.sms.messages()); n != 0 {
			t.Fatalf("refused calls sent %d SMS, want 0", n)
		}
		h.reauthPassword(t, tok)
		m := h.startPhone(tok, typedA).want(t, 202).json(t)
		if m["phone"] != maskedA || m["expires_in"] != float64(300) {
			t.Errorf("got %v, want phone %s and expires_in 300", m, maskedA)
		}

		msgs := h.sms.messages()
		if len(msgs) != 1 {
			t.Fatalf("got %d SMS, want 1: %v", len(msgs), msgs)
		}
		sent := msgs[0]
		if sent.To != numberA || sent.Purpose != "enroll" {
			t.Errorf("got an SMS to %s for %q, want one to %s for enroll", sent.To, sent.Purpose, numberA)
		}
		sm := webOTPLine.FindStringSubmatch(sent.Body)
		if sm == nil {
			t.Fatalf("got SMS body %q, want it to end with the line \"@login.example.test #<6 digits>\"", sent.Body)
		}
		code := sm[1]
		if !strings.Contains(sent.Body, "Latchkey") {
			t.Errorf("got SMS body %q, want it to name the product", sent.Body)
		}
		rest := strings.ReplaceAll(sent.Body, code, "")
		for _, personal := range []string{"olga", "example.com", "2671", "415"} {
			if strings.Contains(rest, personal) {
				t.Errorf("got SMS body %q, want no personal data (found %q)", sent.Body, personal)
			}
		}

		// Until it is confirmed, the number is no method.
		if m := h.login("olga@example.com", pw).json(t); m["aal"] != float64(2) || len(strs(m["methods"])) != 0 {
			t.Errorf("before confirmation: got login %v, want aal 2 and no methods", m)
		}
		if s := h.smsState(t, tok); s["enabled"] != false || s["pending"] != true || s["phone"] != nil {
			t.Errorf("before confirmation: got sms %v, want not enabled, pending, no phone", s)
		}

		h.confirmPhone(tok, otherCode(code)).want(t, 401, "invalid_code")
		r = h.confirmPhone(tok, code).want(t, 200)
		if rc := r.str(t, "recovery_code"); !recoveryCodeRE.MatchString(rc) {
			t.Errorf("got recovery code %q, want 24 Crockford base32 characters in groups of 4", rc)
		}
		if r.str(t, "session_token") != "" {
			t.Errorf("got %s, want no new token for a session that already is aal2", r.body)
		}

		login := h.login("olga@example.com", pw).json(t)
		if login["aal"] != float64(1) || !slices.Equal(strs(login["methods"]), []string{"sms", "recovery_code"}) {
			t.Errorf("after confirmation: got login %v, want aal 1 with methods [sms recovery_code]", login)
		}
		if s := h.smsState(t, tok); s["enabled"] != true || s["pending"] != false || s["phone"] != maskedA {
			t.Errorf("after confirmation: got sms %v, want enabled, not pending, phone %s", s, maskedA)
		}
		evs := h.events(t, tok)
		added := eventsOf(evs, auth.EventPhoneAdded)
		if len(added) != 1 {
			t.Fatalf("got %d phone_added events, want 1", len(added))
		}
		checkEventSource(t, added[0], h.clock.Now())
		if d, _ := added[0]["detail"].(string); !strings.Contains(d, maskedA) || strings.Contains(d, "5552671") {
			t.Errorf("got phone_added detail %q, want the masked number %s and never the full one", d, maskedA)
		}
		if len(eventsOf(evs, auth.EventRecoveryCodeGenerated)) != 1 {
			t.Errorf("got %v, want one recovery_code_generated event", evs)
		}

		// A user whose role requires MFA adds the phone from the
		// enrolment-only session of the password step.
		t.Run("Enrolment", func(t *testing.T) {
			h.addUser("root@example.com", pw, "admin")
			enrolLogin := func() string {
				t.Helper()
				r := h.login("root@example.com", pw)
				if m := r.json(t); m["aal"] != float64(1) || m["enrollment_required"] != true {
					t.Fatalf("got login %s, want aal 1 with enrollment_required", r.body)
				}
				return r.str(t, "session_token")
			}
			tok := enrolLogin()
			h.reauthPassword(t, tok)
			h.clock.Advance(smsCooldown)
			h.startPhone(tok, numberB).want(t, 202)
			code := h.sms.lastCode(t, numberB)
			// A pending number is no method: not at the challenge, and no
			// sign-in code can be sent.
			h.mfa(tok, "sms", code).want(t, 400, "invalid_request")
			h.send(pathLoginSMS, tok).want(t, 409, "conflict")
			enrolLogin()

			r := h.confirmPhone(tok, code).want(t, 200)
			full := r.str(t, "session_token")
			if full == "" || full == tok || !recoveryCodeRE.MatchString(r.str(t, "recovery_code")) {
				t.Fatalf("got %s, want a recovery code and a new session token", r.body)
			}
			h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 401, "unauthenticated")
			h.security(t, full)
		})
	})
}

// TestSMSSignIn: a login code signs in once, in its own session; a step-up
// code opens the step-up window once (requirements C 14, 21; G 48).
func TestSMSSignIn(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		h.phoneUser(t, "pat@example.com", numberA)

		h.send(pathLoginSMS, "").want(t, 401, "unauthenticated")
		login := h.login("pat@example.com", pw).json(t)
		if login["aal"] != float64(1) || login["preferred_method"] != nil {
			t.Errorf("got login %v, want aal 1 and no preferred method yet", login)
		}
		aal1, _ := login["session_token"].(string)

		h.clock.Advance(smsCooldown)
		n := len(h.sms.messages())
		m := h.send(pathLoginSMS, aal1).want(t, 202).json(t)
		if m["phone"] != maskedA || m["expires_in"] != float64(300) {
			t.Errorf("got %v, want phone %s and expires_in 300", m, maskedA)
		}
		msgs := h.smsSince(n)
		if len(msgs) != 1 || msgs[0].To != numberA || msgs[0].Purpose != "login" || !webOTPLine.MatchString(msgs[0].Body) {
			t.Fatalf("got %v, want one login code SMS to %s", msgs, numberA)
		}
		code := h.sms.lastCode(t, numberA)

		r := h.mfa(aal1, "sms", code).want(t, 200)
		full := r.str(t, "session_token")
		if r.json(t)["aal"] != float64(2) || full == "" || full == aal1 {
			t.Fatalf("got %s, want aal 2 under a new token", r.body)
		}
		h.do(req{method: "GET", path: "/api/v1/session", token: aal1}).want(t, 401, "unauthenticated")
		if s := h.do(req{method: "GET", path: "/api/v1/session", token: full}).want(t, 200).json(t); s["aal"] != float64(2) {
			t.Errorf("got session %v, want aal 2", s)
		}

		next := h.login("pat@example.com", pw)
		if got := next.json(t)["preferred_method"]; got != "sms" {
			t.Errorf("got preferred_method %v, want sms", got)
		}
		// The used code again, in the new session.
		h.mfa(next.str(t, "session_token"), "sms", code).want(t, 401, "invalid_code")

		// Step-up by SMS.
		h.clock.Advance(smsCooldown)
		n = len(h.sms.messages())
		h.send(pathReauthSMS, full).want(t, 202)
		if msgs := h.smsSince(n); len(msgs) != 1 || msgs[0].To != numberA || msgs[0].Purpose != "reauth" {
			t.Fatalf("got %v, want one reauth code SMS to %s", msgs, numberA)
		}
		rcode := h.sms.lastCode(t, numberA)
		until := h.reauth(full, "sms", rcode).want(t, 200).str(t, "reauth_until")
		if got, err := time.Parse(time.RFC3339Nano, until); err != nil || !got.Equal(h.clock.Now().Add(5*time.Minute)) {
			t.Errorf("got reauth_until %q, want %v", until, h.clock.Now().Add(5*time.Minute))
		}
		if sec := h.security(t, full); sec["reauth_method"] != "sms" {
			t.Errorf("got reauth_method %v, want sms", sec["reauth_method"])
		}
		// A code works once, also in the session it was sent for.
		h.reauth(full, "sms", rcode).want(t, 401, "invalid_code")
	})
}

// TestSMSCrossUse: a code is good only for the purpose, the session and the
// number it was sent for (requirement C 15).
func TestSMSCrossUse(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		// Vera has an app and a phone: a session can then ask for a login
		// code and pass the challenge with the app, keeping its id.
		vera, _, tok := h.totpUser(t, "vera@example.com")
		h.reauth(tok, "totp", h.freshCode(t, vera)).want(t, 200)
		h.addPhone(t, tok, numberA)
		// Walt has only an app, and adds phones.
		walt, _, wtok := h.totpUser(t, "walt@example.com")

		// Each case makes one cross use, which must fail (401 invalid_code
		// unless the case says otherwise); after (if set) then shows that
		// the right use still works.
		var after func(t *testing.T)
		var wantStatus int
		var wantCode string
		tests := []struct {
			name string
			use  func(t *testing.T) *response
		}{
			{"LoginCodeAtReauth", func(t *testing.T) *response {
				// The same session and number; only the purpose differs.
				s := h.loginAAL1(t, "vera@example.com")
				code := h.requestCode(t, pathLoginSMS, s, numberA)
				s = h.mfa(s, "totp", h.freshCode(t, vera)).want(t, 200).str(t, "session_token")
				return h.reauth(s, "sms", code)
			}},
			{"ReauthCodeAtLogin", func(t *testing.T) *response {
				// An aal2 session cannot come back to the challenge, so the
				// session differs too.
				full := h.signIn(t, "vera@example.com", vera)
				code := h.requestCode(t, pathReauthSMS, full, numberA)
				return h.mfa(h.loginAAL1(t, "vera@example.com"), "sms", code)
			}},
			{"OtherSession", func(t *testing.T) *response {
				x, y := h.loginAAL1(t, "vera@example.com"), h.loginAAL1(t, "vera@example.com")
				code := h.requestCode(t, pathLoginSMS, x, numberA)
				// Y's try did not spend X's code.
				after = func(t *testing.T) { h.mfa(x, "sms", code).want(t, 200) }
				return h.mfa(y, "sms", code)
			}},
			{"NewSendVoidsTheOtherNumber", func(t *testing.T) *response {
				h.reauth(wtok, "totp", h.freshCode(t, walt)).want(t, 200)
				h.startPhone(wtok, numberB).want(t, 202)
				codeB := h.sms.lastCode(t, numberB)
				h.startPhone(wtok, numberC).want(t, 202)
				after = func(t *testing.T) { h.confirmPhone(wtok, h.sms.lastCode(t, numberC)).want(t, 200) }
				return h.confirmPhone(wtok, codeB)
			}},
			{"OtherNumber", func(t *testing.T) *response {
				// Session S's code to B is still live when Walt's first
				// session makes D the pending number: the code was sent to
				// B, so it does not confirm D. (Walt's phone is C now:
				// changing it needs an SMS step-up.)
				s := h.signIn(t, "walt@example.com", walt)
				h.smsStepUp(t, s, numberC)
				h.smsStepUp(t, wtok, numberC)
				h.startPhone(s, numberB).want(t, 202)
				codeB := h.sms.lastCode(t, numberB)
				h.startPhone(wtok, numberD).want(t, 202)
				after = func(t *testing.T) { h.confirmPhone(wtok, h.sms.lastCode(t, numberD)).want(t, 200) }
				// D is pending in Walt's first session, so S has nothing
				// to confirm at all.
				wantStatus, wantCode = 409, "conflict"
				return h.confirmPhone(s, codeB)
			}},
			{"EnrollCodeAtLogin", func(t *testing.T) *response {
				// Walt's phone is D now; S's code to B above is unused.
				// Purpose, session and number all differ here: an aal1
				// session can never hold an enrolment code for a user who
				// has a phone.
				return h.mfa(h.loginAAL1(t, "walt@example.com"), "sms", h.sms.lastCode(t, numberB))
			}},
			{"PurposeRewrittenInTheDatabase", func(t *testing.T) *response {
				// The purpose is in the MAC, not only in the row: a login
				// code whose row is rewritten to say reauth does not step
				// up the session it was sent for.
				s := h.loginAAL1(t, "vera@example.com")
				code := h.requestCode(t, pathLoginSMS, s, numberA)
				id := h.session(t, s).ID
				s = h.mfa(s, "totp", h.freshCode(t, vera)).want(t, 200).str(t, "session_token")
				res, err := openSQL(t, dsn).Exec(`UPDATE sms_codes SET purpose = 'reauth' WHERE session_id = $1 AND purpose = 'login'`, id)
				if n, _ := res.RowsAffected(); err != nil || n != 1 {
					t.Fatalf("rewrite the code's purpose: %d rows, %v", n, err)
				}
				return h.reauth(s, "sms", code)
			}},
			{"OldNumberAfterChange", func(t *testing.T) *response {
				// The number is in the MAC: a step-up code sent to the old
				// number, still live in the session that changed the phone,
				// does not work once the new number is active. (An hour on,
				// so that the old number's hourly cap has room.)
				h.clock.Advance(time.Hour)
				full := h.signIn(t, "vera@example.com", vera)
				h.smsStepUp(t, full, numberA)
				old := h.requestCode(t, pathReauthSMS, full, numberA)
				h.addPhone(t, full, numberB)
				after = func(t *testing.T) { h.smsStepUp(t, full, numberB) }
				return h.reauth(full, "sms", old)
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				after, wantStatus, wantCode = nil, 401, "invalid_code"
				r := tc.use(t)
				r.want(t, wantStatus, wantCode)
				if after != nil {
					after(t)
				}
			})
		}
	})
}

// TestSMSChangePhone: changing the number needs a code sent to the current
// one, the current one works until the new one is confirmed, and then it
// is told (requirements H 57, 59, 62, 64).
func TestSMSChangePhone(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		secret, _, tok := h.totpUser(t, "quinn@example.com")
		h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
		rcA := h.addPhone(t, tok, numberA) // adding: any method will do

		h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
		n := len(h.sms.messages())
		r := h.startPhone(tok, numberB).want(t, 403, "reauth_required")
		if got := r.errorMethods(t); !slices.Equal(got, []string{"sms"}) {
			t.Errorf("got error.methods %v, want exactly [sms]", got)
		}
		if msgs := h.smsSince(n); len(msgs) != 0 {
			t.Errorf("a refused change sent %v, want nothing", msgs)
		}

		h.smsStepUp(t, tok, numberA)
		h.startPhone(tok, typedA).want(t, 409, "conflict") // the number it already has
		if m := h.startPhone(tok, numberB).want(t, 202).json(t); m["phone"] != maskedB {
			t.Errorf("got %v, want phone %s", m, maskedB)
		}
		codeB := h.sms.lastCode(t, numberB)

		// Until the confirmation, sign-in codes still go to the current number.
		aal1 := h.loginAAL1(t, "quinn@example.com")
		n = len(h.sms.messages())
		h.mfa(aal1, "sms", h.requestCode(t, pathLoginSMS, aal1, numberA)).want(t, 200)
		if msgs := h.smsSince(n); len(msgs) != 1 || msgs[0].To != numberA {
			t.Errorf("during the change: got %v, want the login code sent to %s", msgs, numberA)
		}
		// A code sent to the current number, still unused at the confirmation.
		waiting := h.loginAAL1(t, "quinn@example.com")
		oldCode := h.requestCode(t, pathLoginSMS, waiting, numberA)

		n = len(h.sms.messages())
		rcB := h.confirmPhone(tok, codeB).want(t, 200).str(t, "recovery_code")
		msgs := h.smsSince(n)
		if len(msgs) != 1 {
			t.Fatalf("got %v after the change, want one notice to the old number", msgs)
		}
		checkNotice(t, msgs[0], numberA, "changed")
		if s := h.smsState(t, tok); s["phone"] != maskedB || s["pending"] != false {
			t.Errorf("got sms %v, want phone %s, not pending", s, maskedB)
		}

		// Codes sent to the old number stop working at once (here the
		// session waiting with one ended with the change, as every other
		// session does), and sign-in codes now go to the new number.
		h.mfa(waiting, "sms", oldCode).want(t, 401, "unauthenticated")
		aal1 = h.loginAAL1(t, "quinn@example.com")
		n = len(h.sms.messages())
		code := h.requestCode(t, pathLoginSMS, aal1, numberB)
		if msgs := h.smsSince(n); len(msgs) != 1 || msgs[0].To != numberB || msgs[0].Purpose != "login" {
			t.Errorf("after the change: got %v, want the login code sent to %s", msgs, numberB)
		}
		h.mfa(aal1, "sms", code).want(t, 200)

		added := eventsOf(h.events(t, tok), auth.EventPhoneAdded)
		if len(added) != 2 {
			t.Fatalf("got %d phone_added events, want 2", len(added))
		}
		d, _ := added[0]["detail"].(string)
		if !strings.Contains(d, "replaced") || !strings.Contains(d, maskedA) || !strings.Contains(d, maskedB) {
			t.Errorf("got phone_added detail %q, want it to say %s replaced %s", d, maskedB, maskedA)
		}
		checkEventSource(t, added[0], h.clock.Now())

		// The change came with a new recovery code, which voided the earlier one.
		if rcB == rcA || !recoveryCodeRE.MatchString(rcB) {
			t.Errorf("got recovery code %q after the change (before: %q), want a new one", rcB, rcA)
		}
		h.mfa(h.loginAAL1(t, "quinn@example.com"), "recovery_code", rcA).want(t, 401, "invalid_code")
		h.mfa(h.loginAAL1(t, "quinn@example.com"), "recovery_code", rcB).want(t, 200)
	})
}

// TestSMSRemovePhone: removing the phone needs a step-up by any active
// method, the way out for a lost phone (the decision on requirement H 60),
// and the removed number is told (H 62).
func TestSMSRemovePhone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t), withRoles("admin"))
	secret, _, tok := h.totpUser(t, "rose@example.com")
	h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
	h.addPhone(t, tok, numberA)
	h.clock.Advance(6 * time.Minute) // the step-up window closes

	r := h.do(req{method: "DELETE", path: "/api/v1/me/phone", token: tok}).want(t, 403, "reauth_required")
	if got := r.errorMethods(t); !slices.Equal(got, []string{"totp", "sms", "recovery_code"}) {
		t.Errorf("got error.methods %v, want [totp sms recovery_code]", got)
	}
	// Decision: a step-up by the app is enough; no code to the phone.
	h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
	n := len(h.sms.messages())
	h.do(req{method: "DELETE", path: "/api/v1/me/phone", token: tok}).want(t, 204)
	msgs := h.smsSince(n)
	if len(msgs) != 1 {
		t.Fatalf("got %v after the removal, want one notice to the removed number", msgs)
	}
	checkNotice(t, msgs[0], numberA, "removed")

	removed := eventsOf(h.events(t, tok), auth.EventPhoneRemoved)
	if len(removed) != 1 {
		t.Fatalf("got %d phone_removed events, want 1", len(removed))
	}
	checkEventSource(t, removed[0], h.clock.Now())
	if d, _ := removed[0]["detail"].(string); !strings.Contains(d, maskedA) || strings.Contains(d, "5552671") {
		t.Errorf("got phone_removed detail %q, want the masked number %s only", d, maskedA)
	}
	if got := strs(h.login("rose@example.com", pw).json(t)["methods"]); !slices.Equal(got, []string{"totp", "recovery_code"}) {
		t.Errorf("after the removal: got login methods %v, want [totp recovery_code]", got)
	}
	if s := h.smsState(t, tok); s["enabled"] != false || s["phone"] != nil {
		t.Errorf("after the removal: got sms %v, want not enabled, no phone", s)
	}
	h.do(req{method: "DELETE", path: "/api/v1/me/phone", token: tok}).want(t, 404, "not_found")

	t.Run("ByRecoveryCode", func(t *testing.T) {
		rc, tok := h.phoneUser(t, "sid@example.com", numberB)
		h.reauth(tok, "recovery_code", rc).want(t, 200)
		h.do(req{method: "DELETE", path: "/api/v1/me/phone", token: tok}).want(t, 204)
		h.loginAAL2(t, "sid@example.com")
	})

	t.Run("LastMethodOfRequiredRole", func(t *testing.T) {
		h.addUser("tess@example.com", pw, "admin")
		enrol := h.login("tess@example.com", pw).str(t, "session_token")
		h.reauthPassword(t, enrol)
		h.clock.Advance(smsCooldown)
		h.startPhone(enrol, numberC).want(t, 202)
		full := h.confirmPhone(enrol, h.sms.lastCode(t, numberC)).want(t, 200).str(t, "session_token")
		h.smsStepUp(t, full, numberC)
		n := len(h.sms.messages())
		h.do(req{method: "DELETE", path: "/api/v1/me/phone", token: full}).want(t, 409, "conflict")
		if s := h.smsState(t, full); s["enabled"] != true {
			t.Errorf("after a refused removal: got sms %v, want still enabled", s)
		}
		if msgs := h.smsSince(n); len(msgs) != 0 {
			t.Errorf("a refused removal sent %v, want nothing", msgs)
		}
	})
}

// TestSMSCodes: the rules of one code — five wrong tries, a resend, the
// lifetime, the format (requirements A 3; C 13, 16, 17).
func TestSMSCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))

	t.Run("FiveWrongTriesVoidTheCode", func(t *testing.T) {
		_, full := h.phoneUser(t, "amy@example.com", numberA)
		uid := h.session(t, full).UserID
		// Four wrong tries leave the code good...
		s := h.loginAAL1(t, "amy@example.com")
		code := h.requestCode(t, pathLoginSMS, s, numberA)
		for range 4 {
			h.mfa(s, "sms", otherCode(code)).want(t, 401, "invalid_code")
		}
		h.mfa(s, "sms", code).want(t, 200)
		// ...the fifth voids it.
		s = h.loginAAL1(t, "amy@example.com")
		code = h.requestCode(t, pathLoginSMS, s, numberA)
		for range 5 {
			h.mfa(s, "sms", otherCode(code)).want(t, 401, "invalid_code")
		}
		h.mfa(s, "sms", code).want(t, 401, "invalid_code")
		if got := h.failures(t, uid); got != 6 {
			t.Errorf("got %d failures, want 6", got)
		}
		// A new code works in the same session.
		h.mfa(s, "sms", h.requestCode(t, pathLoginSMS, s, numberA)).want(t, 200)
	})

	t.Run("ResendKeepsTheFailureCount", func(t *testing.T) {
		_, full := h.phoneUser(t, "ben@example.com", numberB)
		uid := h.session(t, full).UserID
		s := h.loginAAL1(t, "ben@example.com")
		old := h.requestCode(t, pathLoginSMS, s, numberB)
		for range 4 {
			h.mfa(s, "sms", otherCode(old)).want(t, 401, "invalid_code")
		}
		fresh := h.requestCode(t, pathLoginSMS, s, numberB)
		if fresh == old {
			fresh = h.requestCode(t, pathLoginSMS, s, numberB) // one in a million
		}
		// The code sent before the resend is void, and its try is the
		// fifth failure: the resend did not reset the count.
		h.mfa(s, "sms", old).want(t, 401, "invalid_code")
		if got := h.failures(t, uid); got != 5 {
			t.Fatalf("after the resend and one more wrong code: got %d failures, want 5", got)
		}
		for range 5 {
			h.mfa(s, "sms", otherCode(fresh)).want(t, 401, "invalid_code")
		}
		r := h.mfa(s, "sms", fresh).want(t, 429, "locked")
		if ra := retryAfter(r); ra < 1 || ra > 900 {
			t.Errorf("got Retry-After %q, want 1 to 900 seconds", r.header.Get("Retry-After"))
		}
		if got := len(eventsOf(h.events(t, full), auth.EventLocked)); got != 1 {
			t.Errorf("got %d locked events, want 1", got)
		}
		// A locked account gets no code either.
		h.clock.Advance(smsCooldown)
		n := len(h.sms.messages())
		h.send(pathLoginSMS, s).want(t, 429, "locked")
		if msgs := h.smsSince(n); len(msgs) != 0 {
			t.Errorf("a locked account was sent %v, want nothing", msgs)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		h.phoneUser(t, "cid@example.com", numberC)
		s := h.loginAAL1(t, "cid@example.com")
		code := h.requestCode(t, pathLoginSMS, s, numberC)
		h.clock.Advance(5*time.Minute + time.Second)
		h.mfa(s, "sms", code).want(t, 401, "invalid_code")
		// Within the 5 minutes a code works.
		code = h.requestCode(t, pathLoginSMS, s, numberC)
		h.clock.Advance(5*time.Minute - time.Second)
		h.mfa(s, "sms", code).want(t, 200)
	})

	t.Run("Malformed", func(t *testing.T) {
		_, full := h.phoneUser(t, "dee@example.com", numberD)
		sess := h.session(t, full)
		h.smsStepUp(t, full, numberD)
		s := h.loginAAL1(t, "dee@example.com")
		code := h.requestCode(t, pathLoginSMS, s, numberD)
		for _, bad := range []string{"12345", "1234567", "abcdef", "12345a", "１２３４５６", ""} {
			for range 2 { // 12 in all of each kind: more than 5 tries and than 10 failures
				h.mfa(s, "sms", bad).want(t, 400, "invalid_request")
				h.reauth(full, "sms", bad).want(t, 400, "invalid_request")
				h.confirmPhone(full, bad).want(t, 400, "invalid_request")
			}
		}
		if got := h.failures(t, sess.UserID); got != 0 {
			t.Errorf("got %d failures, want 0", got)
		}
		live, err := h.db.LiveSMSCode(context.Background(), sess.UserID, h.session(t, s).ID, auth.PurposeLogin, h.clock.Now(), 5)
		if err != nil || live.Attempts != 0 {
			t.Fatalf("got live code %+v (err %v), want one with 0 attempts", live, err)
		}
		h.mfa(s, "sms", code).want(t, 200)
		if got := len(eventsOf(h.events(t, full), auth.EventMFAFailed)); got != 0 {
			t.Errorf("got %d mfa_failed events, want 0", got)
		}
	})

	// The distribution of the codes (about 10 % start with 0, χ² per
	// digit) is tested on sms.GenerateCode in internal/sms; here, 200 codes
	// that went through the API and the provider keep their shape.
	t.Run("Shape", func(t *testing.T) {
		h := newHarness(t, sqliteDSN(t), withConfig(func(c *auth.Config) { c.SMSLimits = auth.SMSLimits{} }))
		h.phoneUser(t, "eve@example.com", numberA)
		s := h.loginAAL1(t, "eve@example.com")
		n := len(h.sms.messages())
		for range 200 {
			h.send(pathLoginSMS, s).want(t, 202)
		}
		msgs := h.smsSince(n)
		codes := codesIn(msgs)
		if len(msgs) != 200 || len(codes) != 200 {
			t.Fatalf("got %d SMS and %d codes, want 200 of each", len(msgs), len(codes))
		}
		distinct := map[string]bool{}
		for _, c := range codes {
			if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(c) {
				t.Errorf("got code %q, want 6 digits", c)
			}
			distinct[c] = true
		}
		// 200 draws from a million collide about once in fifty runs.
		if len(distinct) < 195 {
			t.Errorf("got %d distinct codes in 200, want nearly all distinct", len(distinct))
		}
	})
}

// TestSMSSendLimits: every cap on sending, against SMS pumping
// (requirement C 21).
func TestSMSSendLimits(t *testing.T) {
	t.Parallel()

	t.Run("Cooldown", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, dsn string) {
			t.Parallel()
			h := newHarness(t, dsn)
			_, full := h.phoneUser(t, "fay@example.com", numberA)
			s := h.loginAAL1(t, "fay@example.com")
			h.clock.Advance(smsCooldown)
			h.send(pathLoginSMS, s).want(t, 202)
			n := len(h.sms.messages())
			r := h.send(pathLoginSMS, s).want(t, 429, "rate_limited")
			if ra := retryAfter(r); ra != 30 {
				t.Errorf("got Retry-After %q, want 30", r.header.Get("Retry-After"))
			}
			// The cooldown is the number's: another session, another
			// purpose are refused alike.
			h.send(pathLoginSMS, h.loginAAL1(t, "fay@example.com")).want(t, 429, "rate_limited")
			h.send(pathReauthSMS, full).want(t, 429, "rate_limited")
			h.clock.Advance(29 * time.Second)
			if ra := retryAfter(h.send(pathLoginSMS, s).want(t, 429, "rate_limited")); ra != 1 {
				t.Errorf("one second before the end: got Retry-After %d, want 1", ra)
			}
			if msgs := h.smsSince(n); len(msgs) != 0 {
				t.Errorf("refused sends delivered %v, want nothing", msgs)
			}
			h.clock.Advance(time.Second)
			h.send(pathLoginSMS, s).want(t, 202)
		})
	})

	t.Run("NumberPerHour", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sqliteDSN(t))
		h.phoneUser(t, "gil@example.com", numberA)
		h.clock.Advance(time.Hour) // the enrolment's send leaves the window
		s := h.loginAAL1(t, "gil@example.com")
		for range 5 {
			h.requestCode(t, pathLoginSMS, s, numberA)
		}
		h.clock.Advance(smsCooldown)
		r := h.send(pathLoginSMS, s).want(t, 429, "rate_limited")
		// The first of the five leaves the hour 5 × 31 s after it was sent.
		if ra := retryAfter(r); ra != 3600-5*31 {
			t.Errorf("got Retry-After %d, want %d", ra, 3600-5*31)
		}
		if msg := r.errorMessage(t); !strings.Contains(msg, "this number") {
			t.Errorf("got message %q, want it to name the number's limit", msg)
		}
		h.clock.Advance(time.Duration(retryAfter(r)) * time.Second)
		h.send(pathLoginSMS, h.loginAAL1(t, "gil@example.com")).want(t, 202)
	})

	t.Run("NumberPerDay", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sqliteDSN(t))
		h.phoneUser(t, "hal@example.com", numberA)
		h.clock.Advance(24 * time.Hour)
		s := h.loginAAL1(t, "hal@example.com")
		// Three an hour: under the hourly cap; the session never idles out.
		for range 10 {
			h.send(pathLoginSMS, s).want(t, 202)
			h.clock.Advance(20 * time.Minute)
		}
		r := h.send(pathLoginSMS, s).want(t, 429, "rate_limited")
		if want := int((24*time.Hour - 200*time.Minute).Seconds()); retryAfter(r) != want {
			t.Errorf("got Retry-After %d, want %d", retryAfter(r), want)
		}
	})

	t.Run("AccountPerHour", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sqliteDSN(t), withConfig(func(c *auth.Config) { c.SMSLimits.AccountPerHour = 3 }))
		h.phoneUser(t, "ida@example.com", numberA)
		h.phoneUser(t, "jon@example.com", numberB)
		h.clock.Advance(time.Hour)
		s := h.loginAAL1(t, "ida@example.com")
		for range 3 {
			h.requestCode(t, pathLoginSMS, s, numberA)
		}
		h.clock.Advance(smsCooldown)
		r := h.send(pathLoginSMS, s).want(t, 429, "rate_limited")
		if msg := r.errorMessage(t); !strings.Contains(msg, "account") {
			t.Errorf("got message %q, want it to name the account's limit", msg)
		}
		h.send(pathLoginSMS, h.loginAAL1(t, "jon@example.com")).want(t, 202)
	})

	t.Run("IPPerHour", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sqliteDSN(t), withConfig(func(c *auth.Config) { c.SMSLimits.IPPerHour = 3 }))
		h.phoneUser(t, "kim@example.com", numberA)
		s := h.loginAAL1(t, "kim@example.com")
		from := func(ip string) *response {
			return h.do(req{method: "POST", path: pathLoginSMS, token: s, body: map[string]any{},
				header: map[string]string{"X-Forwarded-For": ip}})
		}
		for range 3 {
			h.clock.Advance(smsCooldown)
			from("198.51.100.7").want(t, 202)
		}
		h.clock.Advance(smsCooldown)
		r := from("198.51.100.7").want(t, 429, "rate_limited")
		if msg := r.errorMessage(t); !strings.Contains(msg, "network") {
			t.Errorf("got message %q, want it to name the network's limit", msg)
		}
		from("198.51.100.8").want(t, 202)
	})

	t.Run("GlobalPerHour", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sqliteDSN(t), withConfig(func(c *auth.Config) { c.SMSLimits.GlobalPerHour = 3 }))
		users := map[string]string{"lea@example.com": numberA, "max@example.com": numberB, "ned@example.com": numberC}
		for email, number := range users {
			h.phoneUser(t, email, number)
		}
		h.clock.Advance(time.Hour)
		i := 0
		for email := range users {
			i++
			h.do(req{method: "POST", path: pathLoginSMS, token: h.loginAAL1(t, email), body: map[string]any{},
				header: map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i)}}).want(t, 202)
		}
		h.clock.Advance(smsCooldown)
		r := h.do(req{method: "POST", path: pathLoginSMS, token: h.loginAAL1(t, "lea@example.com"), body: map[string]any{},
			header: map[string]string{"X-Forwarded-For": "203.0.113.9"}}).want(t, 429, "rate_limited")
		if msg := r.errorMessage(t); !strings.Contains(msg, "right now") {
			t.Errorf("got message %q, want it to name the global limit", msg)
		}
	})

	t.Run("CountryAllowList", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sqliteDSN(t), withSMSCountries("US", "CA"))
		h.addUser("ola@example.com", pw, "")
		tok := h.loginAAL2(t, "ola@example.com")
		h.reauthPassword(t, tok)
		h.startPhone(tok, "+44 20 7946 0958").want(t, 400, "invalid_request")
		if msgs := h.sms.messages(); len(msgs) != 0 {
			t.Errorf("a number outside the allow-list was sent %v, want nothing", msgs)
		}
		if s := h.smsState(t, tok); s["pending"] != false {
			t.Errorf("got sms %v, want nothing pending", s)
		}
		h.startPhone(tok, "+1 604 555 0100").want(t, 202) // CA
		h.startPhone(tok, typedA).want(t, 202)            // US
	})

	t.Run("Metrics", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sqliteDSN(t), withSMSMetrics())
		_, full := h.phoneUser(t, "pia@example.com", numberA)
		h.smsStepUp(t, full, numberA)
		s := h.loginAAL1(t, "pia@example.com")
		h.requestCode(t, pathLoginSMS, s, numberA)
		h.requestCode(t, pathLoginSMS, s, numberA)
		h.sms.setMode("fail")
		h.clock.Advance(smsCooldown)
		h.send(pathLoginSMS, s).want(t, 502, "sms_unavailable")
		h.sms.setMode("")

		body := string(h.do(req{method: "GET", path: "/metrics"}).want(t, 200).body)
		for series, want := range map[string]string{
			`{purpose="enroll",result="ok"}`:   "1",
			`{purpose="reauth",result="ok"}`:   "1",
			`{purpose="login",result="ok"}`:    "2",
			`{purpose="login",result="error"}`: "1",
			`{purpose="notice",result="ok"}`:   "0",
		} {
			line := "latchkey_sms_sent_total" + series + " " + want + "\n"
			if !strings.Contains(body, line) {
				t.Errorf("/metrics has no line %q", strings.TrimSpace(line))
			}
		}
	})
}

// TestSMSProviderFailure: a provider that fails or does not answer gives a
// clear 502, changes nothing, counts against nothing, and a retry works at
// once (requirement C 23).
func TestSMSProviderFailure(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		_, full := h.phoneUser(t, "quin@example.com", numberA)
		uid := h.session(t, full).UserID
		h.smsStepUp(t, full, numberA) // while the provider works, for the change below
		s := h.loginAAL1(t, "quin@example.com")
		h.mfa(s, "sms", "000000").want(t, 401, "invalid_code") // a failure on the count, to see it unchanged
		before := h.failures(t, uid)
		h.clock.Advance(smsCooldown)
		n := len(h.sms.messages())

		h.sms.setMode("fail")
		r := h.send(pathLoginSMS, s).want(t, 502, "sms_unavailable")
		if strings.Contains(string(r.body), "2671") {
			t.Errorf("got %s, want no number in the error", r.body)
		}
		if got := h.failures(t, uid); got != before {
			t.Errorf("got %d failures after the failed send, want %d", got, before)
		}
		_, err := h.db.LiveSMSCode(context.Background(), uid, h.session(t, s).ID, auth.PurposeLogin, h.clock.Now(), 5)
		if !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("after the failed send: got live code lookup error %v, want not found", err)
		}
		h.startPhone(full, numberB).want(t, 502, "sms_unavailable")
		if st := h.smsState(t, full); st["pending"] != false || st["phone"] != maskedA {
			t.Errorf("after the failed change: got sms %v, want phone %s and nothing pending", st, maskedA)
		}
		if msgs := h.smsSince(n); len(msgs) != 0 {
			t.Errorf("got %v delivered, want nothing", msgs)
		}

		// Back up: both sends work at once, not held by the cooldown of
		// a send that never happened.
		h.sms.setMode("")
		h.send(pathLoginSMS, s).want(t, 202)
		h.startPhone(full, numberB).want(t, 202)
		h.mfa(s, "sms", h.sms.lastCode(t, numberA)).want(t, 200)
	})

	t.Run("Hang", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sqliteDSN(t))
		h.phoneUser(t, "rex@example.com", numberA)
		s := h.loginAAL1(t, "rex@example.com")
		h.clock.Advance(smsCooldown)
		h.sms.setMode("hang")
		start := time.Now()
		h.send(pathLoginSMS, s).want(t, 502, "sms_unavailable")
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("a hanging provider held the request %v, want about the 2-s client timeout", d)
		}
		h.sms.setMode("")
		h.send(pathLoginSMS, s).want(t, 202)
	})
}

// TestSMSSendNeedsSession: only a password-verified session can cause a
// send, and only while it needs the code (requirements C 21, F 66); an
// operator can switch SMS off (D5).
func TestSMSSendNeedsSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	_, full := h.phoneUser(t, "sue@example.com", numberA)
	aal1 := h.loginAAL1(t, "sue@example.com")
	h.clock.Advance(smsCooldown)
	n := len(h.sms.messages())
	for _, path := range []string{pathLoginSMS, pathReauthSMS} {
		h.send(path, "").want(t, 401, "unauthenticated")
		h.send(path, "not-a-token").want(t, 401, "unauthenticated")
	}
	h.send(pathLoginSMS, full).want(t, 409, "conflict")
	h.send(pathReauthSMS, aal1).want(t, 403, "mfa_required")
	if msgs := h.smsSince(n); len(msgs) != 0 {
		t.Errorf("refused calls sent %v, want nothing", msgs)
	}

	t.Run("SwitchedOff", func(t *testing.T) {
		h := newHarness(t, sqliteDSN(t), withoutSMS())
		h.addUser("tom@example.com", pw, "")
		tok := h.loginAAL2(t, "tom@example.com")
		h.startPhone(tok, typedA).want(t, 403, "forbidden")
		h.reauthPassword(t, tok)
		h.startPhone(tok, typedA).want(t, 403, "forbidden")
		h.send(pathReauthSMS, tok).want(t, 403, "forbidden")
		if msgs := h.sms.messages(); len(msgs) != 0 {
			t.Errorf("with SMS off: got %v sent, want nothing", msgs)
		}
	})
}

// TestSMSNoSecretsLeak: after a run through every SMS call, no code sent
// and no full number appears in the logs, the events or any answer
// (requirements C 18, K 73).
func TestSMSNoSecretsLeak(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	var bodies []string
	do := func(r req) *response {
		t.Helper()
		res := h.do(r)
		bodies = append(bodies, string(res.body))
		return res
	}
	post := func(path, tok string, body any) *response {
		t.Helper()
		return do(req{method: "POST", path: path, token: tok, body: body})
	}
	code := func(path, tok, number string) string {
		t.Helper()
		h.clock.Advance(smsCooldown)
		post(path, tok, map[string]any{}).want(t, 202)
		return h.sms.lastCode(t, number)
	}
	// Wrong codes typed are looked for too: a typo is a near miss of the code.
	var typed []string
	wrong := func(c string) string {
		w := otherCode(c)
		typed = append(typed, w)
		return w
	}

	h.addUser("uli@example.com", pw, "")
	tok := h.loginAAL2(t, "uli@example.com")
	h.reauthPassword(t, tok)
	post("/api/v1/me/phone", tok, map[string]string{"phone": typedA}).want(t, 202)
	c := h.sms.lastCode(t, numberA)
	post("/api/v1/me/phone/confirm", tok, map[string]string{"code": wrong(c)}).want(t, 401, "invalid_code")
	post("/api/v1/me/phone/confirm", tok, map[string]string{"code": c}).want(t, 200)

	aal1 := h.loginAAL1(t, "uli@example.com")
	c = code(pathLoginSMS, aal1, numberA)
	post("/api/v1/login/mfa", aal1, map[string]string{"method": "sms", "code": wrong(c)}).want(t, 401, "invalid_code")
	post("/api/v1/login/mfa", aal1, map[string]string{"method": "sms", "code": c}).want(t, 200)
	post("/api/v1/login/mfa", h.loginAAL1(t, "uli@example.com"), map[string]string{"method": "sms", "code": c}).want(t, 401, "invalid_code")

	c = code(pathReauthSMS, tok, numberA)
	post("/api/v1/me/reauth", tok, map[string]string{"method": "sms", "code": wrong(c)}).want(t, 401, "invalid_code")
	post("/api/v1/me/reauth", tok, map[string]string{"method": "sms", "code": c}).want(t, 200)
	post(pathReauthSMS, tok, map[string]any{}).want(t, 429, "rate_limited")
	post("/api/v1/me/phone", tok, map[string]string{"phone": "+1 415 555 2672"}).want(t, 202)
	post("/api/v1/me/phone/confirm", tok, map[string]string{"code": h.sms.lastCode(t, numberB)}).want(t, 200)

	h.sms.setMode("fail")
	h.clock.Advance(smsCooldown)
	aal1 = h.loginAAL1(t, "uli@example.com")
	post(pathLoginSMS, aal1, map[string]any{}).want(t, 502, "sms_unavailable")
	h.sms.setMode("")
	c = code(pathReauthSMS, tok, numberB)
	post("/api/v1/me/reauth", tok, map[string]string{"method": "sms", "code": c}).want(t, 200)
	do(req{method: "DELETE", path: "/api/v1/me/phone", token: tok}).want(t, 204)
	events := string(do(req{method: "GET", path: "/api/v1/me/events", token: tok}).want(t, 200).body)

	codes := codesIn(h.sms.messages())
	if len(codes) != 5 || len(typed) != 3 {
		t.Fatalf("got %d codes sent and %d wrong ones typed, want the 5 and 3 of the run", len(codes), len(typed))
	}
	codes = append(codes, typed...)
	if !strings.Contains(events, maskedA) || !strings.Contains(events, maskedB) {
		t.Fatalf("got events %s, want them to show both numbers masked", events)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "sms_unavailable") {
		t.Fatalf("the logs do not record the failed send; is this the server's log? %.300s", logs)
	}
	places := map[string]string{"logs": logs, "events": events, "answers": strings.Join(bodies, "\n")}
	for where, text := range places {
		for _, c := range codes {
			// As a whole word; not after a '.', which is a fraction of a
			// second in a log's time stamp.
			if regexp.MustCompile(`(^|[^0-9A-Za-z.])` + c + `($|[^0-9A-Za-z])`).MatchString(text) {
				t.Errorf("the %s contain the SMS code %s", where, c)
			}
		}
		for _, number := range []string{numberA, numberB, "4155552671", "4155552672", "415) 555-2671"} {
			if strings.Contains(text, number) {
				t.Errorf("the %s contain the full number %s", where, number)
			}
		}
	}
}

// TestSMSTwoInstances: two instances on one PostgreSQL act as one: a code
// sent by one is verified by the other, and a cooldown started on one holds
// on the other (requirement L 76).
func TestSMSTwoInstances(t *testing.T) {
	t.Parallel()
	dsn := storetest.Postgres(t)
	a := newHarness(t, dsn)
	// The second instance migrates the same database again (a no-op) and
	// shares the first one's keys, as instances of one deployment do.
	b := newHarness(t, dsn, withKeyring(a.keyring))
	advance := func(d time.Duration) {
		a.clock.Advance(d)
		b.clock.Advance(d)
	}

	a.phoneUser(t, "val@example.com", numberA)
	b.clock.Set(a.clock.Now())
	s := a.loginAAL1(t, "val@example.com")
	advance(smsCooldown)
	a.send(pathLoginSMS, s).want(t, 202)
	b.mfa(s, "sms", a.sms.lastCode(t, numberA)).want(t, 200)

	other := b.loginAAL1(t, "val@example.com")
	r := b.send(pathLoginSMS, other).want(t, 429, "rate_limited")
	if ra := retryAfter(r); ra != 30 {
		t.Errorf("got Retry-After %d on instance B, want 30 (the cooldown started on A)", ra)
	}
	if msgs := b.sms.messages(); len(msgs) != 0 {
		t.Errorf("instance B sent %v during A's cooldown, want nothing", msgs)
	}
	advance(smsCooldown)
	b.send(pathLoginSMS, other).want(t, 202)
	a.mfa(other, "sms", b.sms.lastCode(t, numberA)).want(t, 200)
}

// TestSMSSwitchedOffKeepsPhoneUsersBehindMFA: an operator switches SMS off
// while a user's only second factor is a phone. The user must still pass a
// second factor (the recovery code), never get in on the password alone.
func TestSMSSwitchedOffKeepsPhoneUsersBehindMFA(t *testing.T) {
	dsn := sqliteDSN(t)
	a := newHarness(t, dsn)
	recoveryCode, _ := a.phoneUser(t, "off@example.com", "+14155552671")
	b := newHarness(t, dsn, withoutSMS(), withKeyring(a.keyring))

	r := b.login("off@example.com", pw).json(t)
	if r["aal"] != float64(1) || r["mfa_required"] != true {
		t.Fatalf("with SMS off got %v, want aal 1 with MFA required", r)
	}
	if got := fmt.Sprint(r["methods"]); got != "[recovery_code]" {
		t.Errorf("methods %s, want [recovery_code] (sms hidden while off)", got)
	}
	tok := r["session_token"].(string)
	b.do(req{method: "POST", path: "/api/v1/login/mfa/sms", token: tok, body: map[string]any{}}).want(t, 403, "forbidden")
	b.mfa(tok, "sms", "123456").want(t, 400, "invalid_request")
	b.mfa(tok, "recovery_code", recoveryCode).want(t, 200)
}
