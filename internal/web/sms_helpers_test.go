package web_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// Numbers used by the SMS tests: valid US numbers in E.164, as typed, and
// as the API shows them.
const (
	numberA = "+14155552671"
	typedA  = "+1 (415) 555-2671"
	maskedA = "+1••••••2671"
	numberB = "+14155552672"
	maskedB = "+1••••••2672"
	numberC = "+14155552673"
	numberD = "+14155552674"
)

// smsCooldown is a little more than the 30 s between two sends to a number.
const smsCooldown = 31 * time.Second

// Paths of the calls that send a code.
const (
	pathLoginSMS  = "/api/v1/login/mfa/sms"
	pathReauthSMS = "/api/v1/me/reauth/sms"
)

// webOTPLine is the last line of every code message (API.md "SMS delivery").
var webOTPLine = regexp.MustCompile(`\n@login\.example\.test #(\d{6})$`)

// send POSTs {} to a call that sends a code.
func (h *harness) send(path, tok string) *response {
	h.t.Helper()
	return h.do(req{method: "POST", path: path, token: tok, body: map[string]any{}})
}

// requestCode waits out the cooldown of the number, asks path for a code
// in the session of tok, and returns the code the number received.
func (h *harness) requestCode(t *testing.T, path, tok, number string) string {
	t.Helper()
	h.clock.Advance(smsCooldown)
	h.send(path, tok).want(t, 202)
	return h.sms.lastCode(t, number)
}

// startPhone sends POST /me/phone.
func (h *harness) startPhone(tok, phone string) *response {
	h.t.Helper()
	return h.do(req{method: "POST", path: "/api/v1/me/phone", token: tok, body: map[string]string{"phone": phone}})
}

// confirmPhone sends POST /me/phone/confirm.
func (h *harness) confirmPhone(tok, code string) *response {
	h.t.Helper()
	return h.do(req{method: "POST", path: "/api/v1/me/phone/confirm", token: tok, body: map[string]string{"code": code}})
}

// addPhone adds number in the session of tok, which must have stepped up
// as the change requires, and returns the new recovery code.
func (h *harness) addPhone(t *testing.T, tok, number string) string {
	t.Helper()
	h.clock.Advance(smsCooldown)
	h.startPhone(tok, number).want(t, 202)
	return h.confirmPhone(tok, h.sms.lastCode(t, number)).want(t, 200).str(t, "recovery_code")
}

// phoneUser creates a user whose only method is the phone number and
// returns the recovery code and the (aal2) session that added the phone.
func (h *harness) phoneUser(t *testing.T, email, number string) (recoveryCode, tok string) {
	t.Helper()
	h.addUser(email, pw, "")
	tok = h.loginAAL2(t, email)
	h.reauthPassword(t, tok)
	return h.addPhone(t, tok, number), tok
}

// smsStepUp steps up the session of tok with a code sent to number.
func (h *harness) smsStepUp(t *testing.T, tok, number string) {
	t.Helper()
	h.reauth(tok, "sms", h.requestCode(t, pathReauthSMS, tok, number)).want(t, 200)
}

// security returns GET /me/security.
func (h *harness) security(t *testing.T, tok string) map[string]any {
	t.Helper()
	return h.do(req{method: "GET", path: "/api/v1/me/security", token: tok}).want(t, 200).json(t)
}

// smsState returns the "sms" part of GET /me/security.
func (h *harness) smsState(t *testing.T, tok string) map[string]any {
	t.Helper()
	return h.security(t, tok)["sms"].(map[string]any)
}

// session looks up the session of tok in the database.
func (h *harness) session(t *testing.T, tok string) *auth.Session {
	t.Helper()
	s, _, err := h.db.SessionByTokenHash(context.Background(), auth.HashToken(tok))
	if err != nil {
		t.Fatalf("session of token: %v", err)
	}
	return s
}

// failures returns the user's count of consecutive second-factor failures.
func (h *harness) failures(t *testing.T, userID int64) int {
	t.Helper()
	st, err := h.db.MFAState(context.Background(), userID)
	if err != nil {
		t.Fatalf("mfa state: %v", err)
	}
	return st.Failures
}

// smsSince returns the SMS received after the first n.
func (h *harness) smsSince(n int) []smsMessage {
	return h.sms.messages()[n:]
}

// otherCode returns a well-formed 6-digit code different from code.
func otherCode(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1000000)
}

// retryAfter returns the Retry-After header in seconds (-1 if absent or not
// a number).
func retryAfter(r *response) int {
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil {
		return -1
	}
	return n
}

// errorMessage returns error.message of an error answer.
func (r *response) errorMessage(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// Set moves the clock to t (to align the clocks of two instances).
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// codesIn returns the code of every code message.
func codesIn(msgs []smsMessage) []string {
	var out []string
	for _, m := range msgs {
		if sm := webOTPLine.FindStringSubmatch(m.Body); sm != nil {
			out = append(out, sm[1])
		}
	}
	return out
}

// checkNotice checks that m is a notice to number saying what happened
// ("changed" or "removed"), carrying no code or any other digits.
func checkNotice(t *testing.T, m smsMessage, number, what string) {
	t.Helper()
	if m.To != number || m.Purpose != "notice" {
		t.Errorf("got an SMS to %s for %q, want a notice to %s", m.To, m.Purpose, number)
	}
	if !strings.Contains(m.Body, what) {
		t.Errorf("got notice %q, want it to say the phone was %s", m.Body, what)
	}
	if regexp.MustCompile(`[0-9]`).MatchString(m.Body) {
		t.Errorf("got notice %q, want no code or other digits in it", m.Body)
	}
}
