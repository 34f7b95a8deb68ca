package web_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/totp"
)

// totpStep is one RFC 6238 time step.
const totpStep = 30 * time.Second

// recoveryCodeRE is a recovery code as shown: 24 Crockford base32
// characters in groups of 4.
var recoveryCodeRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){5}$`)

// base32NoPad decodes the base32 secrets the server hands out (no padding).
var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// strs turns a JSON array of strings into a []string (nil if v is none).
func strs(v any) []string {
	a, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// errorMethods returns error.methods of an error answer.
func (r *response) errorMethods(t *testing.T) []string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	return strs(e["methods"])
}

// freshCode moves the clock on by one step and returns the code of secret
// for the new step: every acceptance consumes its step, so helpers that
// need a valid code never reuse one by accident.
func (h *harness) freshCode(t *testing.T, secret string) string {
	t.Helper()
	h.clock.Advance(totpStep)
	return totpCode(t, secret, h.clock.Now())
}

// wrongCode returns a well-formed 6-digit code that is not valid for secret
// in any step of the window around at. It uses the internal implementation
// only to pick a wrong code; the right codes always come from oathtool.
func wrongCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32NoPad.DecodeString(secret)
	if err != nil {
		t.Fatalf("decode secret: %v", err)
	}
	valid := map[string]bool{}
	for d := int64(-2); d <= 2; d++ {
		valid[totp.CodeAt(key, totp.Step(at)+d)] = true
	}
	n, _ := strconv.Atoi(totp.CodeAt(key, totp.Step(at)))
	for {
		n = (n + 1) % 1000000
		if c := fmt.Sprintf("%06d", n); !valid[c] {
			return c
		}
	}
}

// wrongRecoveryCode returns a well-formed recovery code that differs from
// rc in every character.
func wrongRecoveryCode(rc string) string {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	return strings.Map(func(r rune) rune {
		if i := strings.IndexRune(crockford, r); i >= 0 {
			return rune(crockford[(i+1)%len(crockford)])
		}
		return r
	}, rc)
}

// loginAAL1 signs in a user who has a second factor and returns the aal1
// token, checking that the answer asks for the challenge.
func (h *harness) loginAAL1(t *testing.T, email string) string {
	t.Helper()
	r := h.login(email, pw)
	m := r.json(t)
	if m["aal"] != float64(1) || m["mfa_required"] != true {
		t.Fatalf("got login %s, want aal 1 with mfa_required", r.body)
	}
	return r.str(t, "session_token")
}

// loginAAL2 signs in a user without a second factor and returns the token.
func (h *harness) loginAAL2(t *testing.T, email string) string {
	t.Helper()
	r := h.login(email, pw)
	if m := r.json(t); m["aal"] != float64(2) || m["mfa_required"] != false {
		t.Fatalf("got login %s, want aal 2 without mfa_required", r.body)
	}
	return r.str(t, "session_token")
}

// mfa sends POST /login/mfa.
func (h *harness) mfa(tok, method, code string) *response {
	h.t.Helper()
	return h.do(req{method: "POST", path: "/api/v1/login/mfa", token: tok, body: map[string]string{"method": method, "code": code}})
}

// reauth sends POST /me/reauth with a code.
func (h *harness) reauth(tok, method, code string) *response {
	h.t.Helper()
	return h.do(req{method: "POST", path: "/api/v1/me/reauth", token: tok, body: map[string]string{"method": method, "code": code}})
}

// reauthPassword steps up with the password (users without a second factor).
func (h *harness) reauthPassword(t *testing.T, tok string) {
	t.Helper()
	h.do(req{method: "POST", path: "/api/v1/me/reauth", token: tok,
		body: map[string]string{"method": "password", "password": pw}}).want(t, 200)
}

// signIn signs in with the password and a fresh TOTP code and returns the
// aal2 token.
func (h *harness) signIn(t *testing.T, email, secret string) string {
	t.Helper()
	tok := h.loginAAL1(t, email)
	r := h.mfa(tok, "totp", h.freshCode(t, secret)).want(t, 200)
	return r.str(t, "session_token")
}

// enrolment is the answer to POST /me/totp.
type enrolment struct {
	secret, uri, qrPNG, qrSVG string
	expiresIn                 float64
}

// startTOTP starts an enrolment (the session must have stepped up).
func (h *harness) startTOTP(t *testing.T, tok string) enrolment {
	t.Helper()
	m := h.do(req{method: "POST", path: "/api/v1/me/totp", token: tok, body: map[string]any{}}).want(t, 201).json(t)
	e := enrolment{}
	e.secret, _ = m["secret"].(string)
	e.uri, _ = m["otpauth_uri"].(string)
	e.qrPNG, _ = m["qr_png"].(string)
	e.qrSVG, _ = m["qr_svg"].(string)
	e.expiresIn, _ = m["expires_in"].(float64)
	return e
}

// confirmTOTP confirms the pending app with its current code and returns
// the answer.
func (h *harness) confirmTOTP(t *testing.T, tok, secret string) *response {
	t.Helper()
	return h.do(req{method: "POST", path: "/api/v1/me/totp/confirm", token: tok,
		body: map[string]string{"code": totpCode(t, secret, h.clock.Now())}}).want(t, 200)
}

// totpUser creates a user without a role requirement, links an app in a
// signed-in session and returns the app's secret, the recovery code and
// that (aal2) session's token.
func (h *harness) totpUser(t *testing.T, email string) (secret, recoveryCode, tok string) {
	t.Helper()
	h.addUser(email, pw, "")
	tok = h.loginAAL2(t, email)
	h.reauthPassword(t, tok)
	secret = h.startTOTP(t, tok).secret
	recoveryCode = h.confirmTOTP(t, tok, secret).str(t, "recovery_code")
	return secret, recoveryCode, tok
}

// events returns the session user's security events, newest first.
func (h *harness) events(t *testing.T, tok string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range h.do(req{method: "GET", path: "/api/v1/me/events", token: tok}).want(t, 200).json(t)["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// eventsOf returns the events of one type.
func eventsOf(evs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

// checkEventSource checks that an event names where and when it happened:
// the client's IP and user agent and a UTC time not later than now.
func checkEventSource(t *testing.T, e map[string]any, now time.Time) {
	t.Helper()
	if e["ip"] != "127.0.0.1" {
		t.Errorf("%v event: got ip %v, want 127.0.0.1", e["type"], e["ip"])
	}
	if e["user_agent"] != "Go-http-client/1.1" {
		t.Errorf("%v event: got user_agent %v, want the client's (Go-http-client/1.1)", e["type"], e["user_agent"])
	}
	at, _ := e["at"].(string)
	parsed, err := time.Parse(time.RFC3339Nano, at)
	if err != nil || !strings.HasSuffix(at, "Z") {
		t.Errorf("%v event: got at %q, want an RFC 3339 UTC time (err %v)", e["type"], at, err)
	} else if parsed.After(now) || parsed.Before(now.Add(-time.Hour)) {
		t.Errorf("%v event: got at %v, want shortly before %v", e["type"], parsed, now)
	}
}

// burst sends every request at once: the goroutines wait on one channel
// that is closed when all are ready. Answers come back in request order
// (nil for a request that could not be sent, which h.do has reported).
func (h *harness) burst(reqs []req) []*response {
	h.t.Helper()
	out := make([]*response, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			<-start
			out[i] = h.do(r)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// countStatuses counts the answers by status and error code ("401
// invalid_code"; "200").
func countStatuses(t *testing.T, rs []*response) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, r := range rs {
		if r == nil {
			n["none"]++
			continue
		}
		k := strconv.Itoa(r.status)
		if r.status >= 400 {
			k += " " + r.errorCode(t)
		}
		n[k]++
	}
	return n
}

// TestTOTPEnrolAndSignIn walks the whole path of a user who links an
// authenticator app and then signs in with it (requirements B 2, 5, 8, 12;
// F 38, 40; G 48; H 56, 58, 63; K 72).
func TestTOTPEnrolAndSignIn(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		h.addUser("alice@example.com", pw, "")

		login := h.login("alice@example.com", pw)
		if m := login.json(t); m["aal"] != float64(2) || len(strs(m["methods"])) != 0 {
			t.Fatalf("got login %s, want aal 2 and no methods", login.body)
		}
		tok := login.str(t, "session_token")

		// Linking an app needs a step-up; a user without MFA uses the password.
		r := h.do(req{method: "POST", path: "/api/v1/me/totp", token: tok, body: map[string]any{}}).want(t, 403, "reauth_required")
		if got := r.errorMethods(t); !slices.Equal(got, []string{"password"}) {
			t.Errorf("got error.methods %v, want [password]", got)
		}
		until := h.do(req{method: "POST", path: "/api/v1/me/reauth", token: tok,
			body: map[string]string{"method": "password", "password": pw}}).want(t, 200).str(t, "reauth_until")
		if got, err := time.Parse(time.RFC3339Nano, until); err != nil || !got.Equal(h.clock.Now().Add(5*time.Minute)) {
			t.Errorf("got reauth_until %q, want %v (5 minutes)", until, h.clock.Now().Add(5*time.Minute))
		}

		e := h.startTOTP(t, tok)
		key, err := base32NoPad.DecodeString(e.secret)
		if err != nil || len(key) != 20 {
			t.Errorf("got secret %q decoding to %d bytes (err %v), want 20 bytes of unpadded base32", e.secret, len(key), err)
		}
		if e.expiresIn != 900 {
			t.Errorf("got expires_in %v, want 900", e.expiresIn)
		}
		if !strings.Contains(e.qrSVG, "<svg") {
			t.Errorf("qr_svg is not SVG: %.80q", e.qrSVG)
		}
		checkOTPAuthURI(t, e, "alice@example.com")
		if got := decodeQR(t, e.qrPNG); got != e.uri {
			t.Errorf("zbarimg read %q from qr_png, want otpauth_uri %q", got, e.uri)
		}

		confirming := totpCode(t, e.secret, h.clock.Now())
		rc := h.do(req{method: "POST", path: "/api/v1/me/totp/confirm", token: tok,
			body: map[string]string{"code": confirming}}).want(t, 200).str(t, "recovery_code")
		if !recoveryCodeRE.MatchString(rc) {
			t.Errorf("got recovery code %q, want 24 Crockford base32 characters in groups of 4", rc)
		}

		// The password step-up is still in its window, but with an app
		// linked the password alone no longer proves anything.
		r = h.do(req{method: "POST", path: "/api/v1/me/recovery-code", token: tok, body: map[string]any{}}).want(t, 403, "reauth_required")
		if got := r.errorMethods(t); !slices.Equal(got, []string{"totp", "recovery_code"}) {
			t.Errorf("got error.methods %v, want [totp recovery_code]", got)
		}

		sec := h.do(req{method: "GET", path: "/api/v1/me/security", token: tok}).want(t, 200).json(t)
		if tp := sec["totp"].(map[string]any); tp["enabled"] != true || tp["enrolled_at"] == nil || tp["pending"] != false {
			t.Errorf("got totp %v, want enabled, with enrolled_at, not pending", tp)
		}
		if got := strs(sec["methods"]); !slices.Equal(got, []string{"totp", "recovery_code"}) {
			t.Errorf("got methods %v, want [totp recovery_code]", got)
		}
		if rcs := sec["recovery_code"].(map[string]any); rcs["exists"] != true {
			t.Errorf("got recovery_code %v, want exists", rcs)
		}

		h.do(req{method: "POST", path: "/api/v1/logout", token: tok}).want(t, 204)
		login = h.login("alice@example.com", pw)
		m := login.json(t)
		if m["aal"] != float64(1) || m["mfa_required"] != true || m["enrollment_required"] != false {
			t.Errorf("got login %s, want aal 1 with mfa_required", login.body)
		}
		if got := strs(m["methods"]); !slices.Equal(got, []string{"totp", "recovery_code"}) {
			t.Errorf("got methods %v, want [totp recovery_code]", got)
		}
		aal1 := login.str(t, "session_token")

		// Past the challenge, nothing answers an aal1 session.
		for _, rt := range h.server.Routes() {
			if !strings.Contains(rt.Pattern, " /api/") || (rt.Access != "full" && rt.Access != "enrollment") {
				continue
			}
			method, path := routeTarget(rt.Pattern)
			got := h.do(req{method: method, path: path, token: aal1})
			if got.status != 403 || got.errorCode(t) != "mfa_required" {
				t.Errorf("%s with an aal1 token: got %d %s, want 403 mfa_required", rt.Pattern, got.status, got.body)
			}
		}

		// The confirming code's step was consumed: it cannot sign in.
		h.mfa(aal1, "totp", confirming).want(t, 401, "invalid_code")
		next := h.freshCode(t, e.secret)
		r = h.mfa(aal1, "totp", next).want(t, 200)
		aal2 := r.str(t, "session_token")
		if aal2 == aal1 || r.json(t)["aal"] != float64(2) {
			t.Errorf("got %s, want aal 2 under a new token", r.body)
		}
		if !strings.Contains(r.header.Get("Set-Cookie"), "__Host-latchkey_session="+aal2) {
			t.Errorf("got Set-Cookie %q, want the new token", r.header.Get("Set-Cookie"))
		}
		h.do(req{method: "GET", path: "/api/v1/session", token: aal1}).want(t, 401, "unauthenticated")
		s := h.do(req{method: "GET", path: "/api/v1/session", token: aal2}).want(t, 200).json(t)
		if s["aal"] != float64(2) || s["verified_at"] == nil {
			t.Errorf("got session %v, want aal 2 with verified_at", s)
		}

		evs := h.events(t, aal2)
		for _, typ := range []string{auth.EventTOTPEnrolled, auth.EventRecoveryCodeGenerated, auth.EventMFASucceeded, auth.EventMFAFailed} {
			found := eventsOf(evs, typ)
			if len(found) == 0 {
				t.Errorf("no %s event in %v", typ, evs)
				continue
			}
			checkEventSource(t, found[0], h.clock.Now())
		}
		// The method used is remembered for the next challenge.
		if got := h.login("alice@example.com", pw).json(t)["preferred_method"]; got != "totp" {
			t.Errorf("got preferred_method %v, want totp", got)
		}
	})
}

// checkOTPAuthURI checks the provisioning URI against the Key URI format
// (requirement B 12).
func checkOTPAuthURI(t *testing.T, e enrolment, account string) {
	t.Helper()
	u, err := url.Parse(e.uri)
	if err != nil {
		t.Fatalf("parse otpauth_uri %q: %v", e.uri, err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" {
		t.Errorf("got %q, want otpauth://totp/...", e.uri)
	}
	prefix, name, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), ":")
	q := u.Query()
	if !ok || prefix == "" || prefix != q.Get("issuer") {
		t.Errorf("got label %q and issuer= %q, want the label prefix to equal issuer", u.Path, q.Get("issuer"))
	}
	if name != account {
		t.Errorf("got account name %q, want %q", name, account)
	}
	if q.Get("secret") != e.secret || strings.Contains(q.Get("secret"), "=") {
		t.Errorf("got secret= %q, want the secret %q without padding", q.Get("secret"), e.secret)
	}
	for k, def := range map[string]string{"algorithm": "SHA1", "digits": "6", "period": "30"} {
		if v := q.Get(k); v != "" && !strings.EqualFold(v, def) {
			t.Errorf("got %s=%s, want it absent or %s", k, v, def)
		}
	}
}

// decodeQR reads a base64 PNG QR code with zbarimg, an implementation
// independent of ours.
func decodeQR(t *testing.T, pngBase64 string) string {
	t.Helper()
	png, err := base64.StdEncoding.DecodeString(pngBase64)
	if err != nil {
		t.Fatalf("decode qr_png: %v", err)
	}
	file := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(file, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("zbarimg", "--raw", "-q", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimRight(string(out), "\n")
}

// TestTOTPReplay: a code is accepted once, in any session, and a code of an
// older step is refused after a newer one was accepted (requirements B 8, K 75).
// SQLite only: the guard is one UPDATE shared by both dialects, which
// TestTOTPReplayConcurrent and TestTOTPEnrolAndSignIn run on PostgreSQL.
func TestTOTPReplay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	secret, _, full := h.totpUser(t, "bob@example.com")

	first, second := h.loginAAL1(t, "bob@example.com"), h.loginAAL1(t, "bob@example.com")
	code := h.freshCode(t, secret)
	h.mfa(first, "totp", code).want(t, 200)
	h.mfa(second, "totp", code).want(t, 401, "invalid_code")

	// Skip a step, so the previous one was never used: it is refused
	// only because a newer step has been accepted.
	h.clock.Advance(2 * totpStep)
	third, fourth := h.loginAAL1(t, "bob@example.com"), h.loginAAL1(t, "bob@example.com")
	h.mfa(third, "totp", totpCode(t, secret, h.clock.Now())).want(t, 200)
	h.mfa(fourth, "totp", totpCode(t, secret, h.clock.Now().Add(-totpStep))).want(t, 401, "invalid_code")

	replays := 0
	for _, e := range eventsOf(h.events(t, full), auth.EventMFAFailed) {
		if strings.Contains(e["detail"].(string), "replayed") {
			replays++
		}
	}
	if replays != 2 {
		t.Errorf("got %d mfa_failed events saying replayed, want 2", replays)
	}
}

// TestTOTPReplayConcurrent: twenty sessions send the same valid code at
// once; exactly one gets in (requirement B 9).
func TestTOTPReplayConcurrent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		// The nineteen refused replays count as failures; a lock after 10
		// would turn some 401s into 429s. That rule has its own tests, so it
		// is moved out of the way here.
		h := newHarness(t, dsn, withConfig(func(c *auth.Config) { c.Lockout.LockEvery = 100 }))
		secret, _, _ := h.totpUser(t, "carol@example.com")
		for round := range 3 {
			reqs := make([]req, 20)
			for i := range reqs {
				reqs[i] = req{method: "POST", path: "/api/v1/login/mfa", token: h.loginAAL1(t, "carol@example.com")}
			}
			code := h.freshCode(t, secret)
			for i := range reqs {
				reqs[i].body = map[string]string{"method": "totp", "code": code}
			}
			got := countStatuses(t, h.burst(reqs))
			if got["200"] != 1 || got["401 invalid_code"] != 19 {
				t.Errorf("round %d: got %v, want exactly one 200 and nineteen 401 invalid_code", round, got)
			}
		}
	})
}

// TestTOTPSkewWindow: one step either side of now is accepted, two are not
// (requirement B 7).
func TestTOTPSkewWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	secret, _, _ := h.totpUser(t, "dan@example.com")
	// Three steps on, now-60s is still later than the confirming step, so a
	// refusal there is the window's doing, not the replay guard's.
	h.clock.Advance(3 * totpStep)
	if off := h.clock.Now().Unix() % 30; off != 1 {
		t.Fatalf("the clock is %d s into its totpStep, want 1", off)
	}
	// In this order: the refused ones first, then ascending, because every
	// acceptance consumes its step and all before it.
	tests := []struct {
		name   string
		offset time.Duration
		status int
	}{
		{"Minus60", -2 * totpStep, 401},
		{"Plus60", 2 * totpStep, 401},
		{"Minus30", -totpStep, 200},
		{"Plus30", totpStep, 200},
	}
	for _, tc := range tests {
		tok := h.loginAAL1(t, "dan@example.com")
		r := h.mfa(tok, "totp", totpCode(t, secret, h.clock.Now().Add(tc.offset)))
		if r.status != tc.status {
			t.Errorf("%s: got %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
}

// TestTOTPChangeApp: the old app works until the new one is confirmed, a
// pending app never counts, and then the old one is gone (requirements
// F 39, 45; H 57, 58, 64).
func TestTOTPChangeApp(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		a, rc1, _ := h.totpUser(t, "erin@example.com")
		tok := h.signIn(t, "erin@example.com", a)
		h.reauth(tok, "totp", h.freshCode(t, a)).want(t, 200)
		b := h.startTOTP(t, tok).secret

		sec := h.do(req{method: "GET", path: "/api/v1/me/security", token: tok}).want(t, 200).json(t)["totp"].(map[string]any)
		if sec["enabled"] != true || sec["pending"] != true {
			t.Errorf("during the change: got totp %v, want enabled and pending", sec)
		}

		// During the change, app A still signs in and steps up...
		h.signIn(t, "erin@example.com", a)
		h.reauth(tok, "totp", h.freshCode(t, a)).want(t, 200)
		// ...and the pending app B does neither.
		h.clock.Advance(totpStep)
		pending := totpCode(t, b, h.clock.Now())
		h.mfa(h.loginAAL1(t, "erin@example.com"), "totp", pending).want(t, 401, "invalid_code")
		h.reauth(tok, "totp", pending).want(t, 401, "invalid_code")

		rc2 := h.confirmTOTP(t, tok, b).str(t, "recovery_code")
		if rc2 == rc1 || !recoveryCodeRE.MatchString(rc2) {
			t.Errorf("got recovery code %q after the change (old %q), want a new one", rc2, rc1)
		}
		h.mfa(h.loginAAL1(t, "erin@example.com"), "recovery_code", rc1).want(t, 401, "invalid_code")
		enrolled := eventsOf(h.events(t, tok), auth.EventTOTPEnrolled)
		if len(enrolled) != 2 || !strings.Contains(enrolled[0]["detail"].(string), "replaced") {
			t.Errorf("got totp_enrolled events %v, want two, the newest saying it replaced the earlier app", enrolled)
		}

		// Now app A is gone and app B signs in.
		h.clock.Advance(totpStep)
		aal1 := h.loginAAL1(t, "erin@example.com")
		h.mfa(aal1, "totp", totpCode(t, a, h.clock.Now())).want(t, 401, "invalid_code")
		h.mfa(aal1, "totp", totpCode(t, b, h.clock.Now())).want(t, 200)

		t.Run("PendingExpires", func(t *testing.T) {
			h.reauth(tok, "totp", h.freshCode(t, b)).want(t, 200)
			c := h.startTOTP(t, tok).secret
			h.clock.Advance(16 * time.Minute)
			h.do(req{method: "POST", path: "/api/v1/me/totp/confirm", token: tok,
				body: map[string]string{"code": totpCode(t, c, h.clock.Now())}}).want(t, 409, "conflict")
			// App B is still the one linked.
			h.signIn(t, "erin@example.com", b)
		})

		t.Run("ConfirmTwice", func(t *testing.T) {
			h.reauth(tok, "totp", h.freshCode(t, b)).want(t, 200)
			d := h.startTOTP(t, tok).secret
			code := totpCode(t, d, h.clock.Now())
			h.do(req{method: "POST", path: "/api/v1/me/totp/confirm", token: tok, body: map[string]string{"code": code}}).want(t, 200)
			h.do(req{method: "POST", path: "/api/v1/me/totp/confirm", token: tok, body: map[string]string{"code": code}}).want(t, 409, "conflict")
		})

		t.Run("OnlyPendingIsNoMethod", func(t *testing.T) {
			h.addUser("frank@example.com", pw, "")
			ftok := h.loginAAL2(t, "frank@example.com")
			h.reauthPassword(t, ftok)
			h.startTOTP(t, ftok)
			// A pending app neither makes the login aal1...
			h.loginAAL2(t, "frank@example.com")
			// ...nor is a method to step up with.
			h.reauth(ftok, "totp", "123456").want(t, 400, "invalid_request")
		})
	})
}

// TestRecoveryCode: signing in with the recovery code consumes it and
// issues a new one; a requested code voids the earlier one (requirements
// D 24-28).
func TestRecoveryCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	secret, rc1, _ := h.totpUser(t, "grace@example.com")
	// Each sign-in with the code replaces it; sign in until the code in
	// hand has a 0 or a 1, so that typing O or I for them is exercised
	// (about one code in five has neither).
	uses := 0
	for ; !strings.ContainsAny(rc1, "01"); uses++ {
		if uses == 20 {
			t.Fatal("20 recovery codes in a row without 0 or 1")
		}
		rc1 = h.mfa(h.loginAAL1(t, "grace@example.com"), "recovery_code", rc1).want(t, 200).str(t, "new_recovery_code")
	}

	// Input ignores case, spaces for dashes, and O/I for 0/1.
	typed := strings.NewReplacer("-", " ", "0", "o", "1", "i").Replace(strings.ToLower(rc1))
	r := h.mfa(h.loginAAL1(t, "grace@example.com"), "recovery_code", typed).want(t, 200)
	m := r.json(t)
	rc2, _ := m["new_recovery_code"].(string)
	if m["aal"] != float64(2) || !recoveryCodeRE.MatchString(rc2) || rc2 == rc1 {
		t.Fatalf("got %s, want aal 2 and a new recovery code", r.body)
	}
	tok := r.str(t, "session_token")

	h.mfa(h.loginAAL1(t, "grace@example.com"), "recovery_code", rc1).want(t, 401, "invalid_code")
	rc3 := h.mfa(h.loginAAL1(t, "grace@example.com"), "recovery_code", rc2).want(t, 200).str(t, "new_recovery_code")
	h.mfa(h.loginAAL1(t, "grace@example.com"), "recovery_code", rc2).want(t, 401, "invalid_code")

	// Asking for a new code needs a step-up with an active method.
	r = h.do(req{method: "POST", path: "/api/v1/me/recovery-code", token: tok, body: map[string]any{}}).want(t, 403, "reauth_required")
	if got := r.errorMethods(t); !slices.Equal(got, []string{"totp", "recovery_code"}) {
		t.Errorf("got error.methods %v, want [totp recovery_code]", got)
	}
	h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
	rc4 := h.do(req{method: "POST", path: "/api/v1/me/recovery-code", token: tok, body: map[string]any{}}).want(t, 201).str(t, "recovery_code")
	if !recoveryCodeRE.MatchString(rc4) || rc4 == rc3 {
		t.Errorf("got recovery code %q, want a new one", rc4)
	}
	aal1 := h.loginAAL1(t, "grace@example.com")
	h.mfa(aal1, "recovery_code", rc3).want(t, 401, "invalid_code")
	h.mfa(aal1, "recovery_code", rc4).want(t, 200)

	// Two requests for a new code at once: both answer, and exactly one of
	// the two codes is the account's code afterwards.
	h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
	regen := req{method: "POST", path: "/api/v1/me/recovery-code", token: tok, body: map[string]any{}}
	works := 0
	for _, r := range h.burst([]req{regen, regen}) {
		code := r.want(t, 201).str(t, "recovery_code")
		if h.mfa(h.loginAAL1(t, "grace@example.com"), "recovery_code", code).status == 200 {
			works++
		}
	}
	if works != 1 {
		t.Errorf("of two codes generated at once, %d work, want exactly 1", works)
	}

	evs := h.events(t, tok)
	if got := len(eventsOf(evs, auth.EventRecoveryCodeUsed)); got != uses+4 {
		t.Errorf("got %d recovery_code_used events, want %d", got, uses+4)
	}
	for _, e := range eventsOf(evs, auth.EventRecoveryCodeUsed) {
		checkEventSource(t, e, h.clock.Now())
	}
}

// TestRecoveryCodeConcurrent: twenty sessions send the same recovery code
// at once; exactly one gets in (requirement D 28).
func TestRecoveryCodeConcurrent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		// As in TestTOTPReplayConcurrent: keep the 10-failure lock out of
		// the count; it is tested on its own.
		h := newHarness(t, dsn, withConfig(func(c *auth.Config) { c.Lockout.LockEvery = 100 }))
		_, rc, _ := h.totpUser(t, "heidi@example.com")
		reqs := make([]req, 20)
		for i := range reqs {
			reqs[i] = req{method: "POST", path: "/api/v1/login/mfa", token: h.loginAAL1(t, "heidi@example.com"),
				body: map[string]string{"method": "recovery_code", "code": rc}}
		}
		rs := h.burst(reqs)
		if got := countStatuses(t, rs); got["200"] != 1 || got["401 invalid_code"] != 19 {
			t.Fatalf("got %v, want exactly one 200 and nineteen 401 invalid_code", got)
		}
		var fresh, tok string
		for _, r := range rs {
			if r.status == 200 {
				fresh, tok = r.str(t, "new_recovery_code"), r.str(t, "session_token")
			}
		}
		// The one winner's new code is the account's code now.
		h.mfa(h.loginAAL1(t, "heidi@example.com"), "recovery_code", fresh).want(t, 200)
		if got := len(eventsOf(h.events(t, tok), auth.EventRecoveryCodeUsed)); got != 2 {
			t.Errorf("got %d recovery_code_used events, want 2", got)
		}
	})
}

// TestStepUpWindow: a step-up lasts 5 minutes in its own session; signing
// in is no step-up, and a user with MFA cannot step up with the password
// (requirements H 56, 57).
func TestStepUpWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	secret, _, _ := h.totpUser(t, "ivan@example.com")
	tok := h.signIn(t, "ivan@example.com", secret)

	t.Run("SigningInIsNoStepUp", func(t *testing.T) {
		r := h.do(req{method: "POST", path: "/api/v1/me/recovery-code", token: tok, body: map[string]any{}}).want(t, 403, "reauth_required")
		if got := r.errorMethods(t); !slices.Equal(got, []string{"totp", "recovery_code"}) {
			t.Errorf("got error.methods %v, want [totp recovery_code]", got)
		}
	})

	t.Run("NoPasswordStepUpWithMFA", func(t *testing.T) {
		r := h.do(req{method: "POST", path: "/api/v1/me/reauth", token: tok, body: map[string]string{"method": "password", "password": pw}})
		if r.status < 400 || r.status >= 500 {
			t.Fatalf("got %d %s, want 4xx", r.status, r.body)
		}
		sec := h.do(req{method: "GET", path: "/api/v1/me/security", token: tok}).want(t, 200).json(t)
		if sec["reauth_until"] != nil {
			t.Errorf("got reauth_until %v, want null: a refused totpStep-up opens no window", sec["reauth_until"])
		}
		h.do(req{method: "POST", path: "/api/v1/me/recovery-code", token: tok, body: map[string]any{}}).want(t, 403, "reauth_required")
	})

	t.Run("BoundToTheSession", func(t *testing.T) {
		other := h.signIn(t, "ivan@example.com", secret)
		h.reauth(other, "totp", h.freshCode(t, secret)).want(t, 200)
		h.do(req{method: "DELETE", path: "/api/v1/me/totp", token: tok}).want(t, 403, "reauth_required")
	})

	t.Run("FiveMinutes", func(t *testing.T) {
		h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
		h.clock.Advance(6 * time.Minute)
		h.do(req{method: "DELETE", path: "/api/v1/me/totp", token: tok}).want(t, 403, "reauth_required")
		h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
		h.clock.Advance(4 * time.Minute)
		h.do(req{method: "DELETE", path: "/api/v1/me/totp", token: tok}).want(t, 204)
		sec := h.do(req{method: "GET", path: "/api/v1/me/security", token: tok}).want(t, 200).json(t)
		if sec["totp"].(map[string]any)["enabled"] != false || len(strs(sec["methods"])) != 0 || sec["recovery_code"].(map[string]any)["exists"] != false {
			t.Errorf("after removing the only app: got %v, want no app, no methods, no recovery code", sec)
		}
		// The history keeps both ends of the app's life.
		evs := h.events(t, tok)
		for _, typ := range []string{auth.EventTOTPRemoved, auth.EventTOTPEnrolled} {
			if found := eventsOf(evs, typ); len(found) != 1 {
				t.Errorf("got %d %s events, want 1", len(found), typ)
			} else {
				checkEventSource(t, found[0], h.clock.Now())
			}
		}
		// Without a method, the next login is aal2 at once.
		h.loginAAL2(t, "ivan@example.com")
	})
}

// TestLockout: ten consecutive failures, over sessions and endpoints, lock
// second-factor checks for 15 minutes; only a success resets the count
// (requirements E 31, 34).
func TestLockout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	secret, rc, _ := h.totpUser(t, "judy@example.com")
	full := h.signIn(t, "judy@example.com", secret)
	a, b := h.loginAAL1(t, "judy@example.com"), h.loginAAL1(t, "judy@example.com")
	h.clock.Advance(totpStep)
	wrong := wrongCode(t, secret, h.clock.Now())
	// Wrong recovery codes count alike (requirement D 27).
	wrongRC := wrongRecoveryCode(rc)
	for i := range 10 {
		var r *response
		switch i % 3 {
		case 0:
			r = h.mfa(a, "totp", wrong)
		case 1:
			r = h.mfa(b, "recovery_code", wrongRC)
		default:
			r = h.reauth(full, "totp", wrong)
		}
		r.want(t, 401, "invalid_code")
	}

	right := h.mfa(a, "totp", totpCode(t, secret, h.clock.Now())).want(t, 429, "locked")
	wrongAgain := h.mfa(b, "totp", wrong).want(t, 429, "locked")
	// The clock has not moved since the tenth failure: the whole 15 minutes.
	if ra := retryAfter(right); ra != 900 {
		t.Errorf("got Retry-After %q, want 900 seconds", right.header.Get("Retry-After"))
	}
	if !bytes.Equal(right.body, wrongAgain.body) {
		t.Errorf("a locked account is an oracle: the right code got %s, a wrong one %s", right.body, wrongAgain.body)
	}
	h.reauth(full, "totp", totpCode(t, secret, h.clock.Now())).want(t, 429, "locked")
	// The lock holds for every method: the right recovery code too.
	h.mfa(b, "recovery_code", rc).want(t, 429, "locked")
	locked := eventsOf(h.events(t, full), auth.EventLocked)
	if len(locked) != 1 {
		t.Fatalf("got %d locked events, want 1", len(locked))
	}
	checkEventSource(t, locked[0], h.clock.Now())

	h.clock.Advance(16 * time.Minute)
	h.mfa(a, "totp", totpCode(t, secret, h.clock.Now())).want(t, 200)
	// The success reset the count: nine more failures do not lock.
	c := h.loginAAL1(t, "judy@example.com")
	h.clock.Advance(totpStep)
	wrong = wrongCode(t, secret, h.clock.Now())
	for range 9 {
		h.mfa(c, "totp", wrong).want(t, 401, "invalid_code")
	}
	h.mfa(c, "totp", h.freshCode(t, secret)).want(t, 200)
}

// TestLockoutHardStop: after 100 consecutive failures TOTP stays refused
// whatever the time; a recovery-code sign-in lifts it (requirement E 32).
// SQLite only: it makes over a hundred sequential requests, and the rule is
// one UPDATE shared by both dialects, which TestLockoutBurst runs on both.
func TestLockoutHardStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t), withConfig(func(c *auth.Config) { c.Lockout.LockFor = time.Second }))
	secret, rc, _ := h.totpUser(t, "ken@example.com")
	tok := h.loginAAL1(t, "ken@example.com")
	h.clock.Advance(totpStep)
	wrong := wrongCode(t, secret, h.clock.Now())
	for i := 1; i <= 100; i++ {
		h.mfa(tok, "totp", wrong).want(t, 401, "invalid_code")
		if i%10 == 0 {
			h.clock.Advance(2 * time.Second) // past the 1-second lock
		}
	}
	h.mfa(tok, "totp", totpCode(t, secret, h.clock.Now())).want(t, 429, "locked")
	h.clock.Advance(time.Hour)
	tok = h.loginAAL1(t, "ken@example.com") // the old session idled out
	r := h.mfa(tok, "totp", totpCode(t, secret, h.clock.Now())).want(t, 429, "locked")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra <= 0 {
		t.Errorf("got Retry-After %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}

	h.mfa(tok, "recovery_code", rc).want(t, 200)
	h.signIn(t, "ken@example.com", secret)
}

// TestLockoutBurst: fifty wrong codes at once are evaluated at most ten
// times (requirement E 33).
func TestLockoutBurst(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		secret, _, full := h.totpUser(t, "leo@example.com")
		toks := make([]string, 5)
		for i := range toks {
			toks[i] = h.loginAAL1(t, "leo@example.com")
		}
		h.clock.Advance(totpStep)
		wrong := wrongCode(t, secret, h.clock.Now())
		reqs := make([]req, 50)
		for i := range reqs {
			reqs[i] = req{method: "POST", path: "/api/v1/login/mfa", token: toks[i%len(toks)],
				body: map[string]string{"method": "totp", "code": wrong}}
		}
		got := countStatuses(t, h.burst(reqs))
		if got["401 invalid_code"] > 10 || got["401 invalid_code"]+got["429 locked"] != 50 {
			t.Errorf("got %v, want at most ten 401 invalid_code and the rest 429 locked", got)
		}
		h.mfa(toks[0], "totp", totpCode(t, secret, h.clock.Now())).want(t, 429, "locked")
		if n := len(eventsOf(h.events(t, full), auth.EventLocked)); n != 1 {
			t.Errorf("got %d locked events, want 1", n)
		}
	})
}

// TestMalformedCodes: a code that cannot be one is a 400 and does not count
// toward the lockout (requirement C 3).
func TestMalformedCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	secret, _, _ := h.totpUser(t, "mia@example.com")
	full := h.signIn(t, "mia@example.com", secret)
	tok := h.loginAAL1(t, "mia@example.com")
	for _, code := range []string{"12345", "abcdef", "1234567", "12345a", "１２３４５６"} {
		for range 3 { // 15 in all: more than the 10 that lock
			h.mfa(tok, "totp", code).want(t, 400, "invalid_request")
			h.reauth(full, "totp", code).want(t, 400, "invalid_request")
		}
	}
	h.mfa(tok, "recovery_code", "not a recovery code").want(t, 400, "invalid_request")
	// A method the account does not have is refused alike (requirement F 43).
	for _, method := range []string{"sms", "password", ""} {
		h.mfa(tok, method, "123456").want(t, 400, "invalid_request")
	}
	h.reauth(full, "sms", "123456").want(t, 400, "invalid_request")
	h.mfa(tok, "totp", h.freshCode(t, secret)).want(t, 200)
	if got := len(eventsOf(h.events(t, full), auth.EventMFAFailed)); got != 0 {
		t.Errorf("got %d mfa_failed events, want 0", got)
	}
}

// TestRolePolicy: a role that requires MFA sends a user without a method
// into enrolment only, and keeps them there until a method is confirmed
// (requirements F 39, 43, 46).
func TestRolePolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t), withRoles("admin"))
	h.addUser("root@example.com", pw, "admin")

	enrolLogin := func() string {
		t.Helper()
		r := h.login("root@example.com", pw)
		m := r.json(t)
		if m["aal"] != float64(1) || m["enrollment_required"] != true || m["mfa_required"] != false || len(strs(m["methods"])) != 0 {
			t.Fatalf("got login %s, want aal 1, enrollment_required and no methods", r.body)
		}
		return r.str(t, "session_token")
	}
	tok := enrolLogin()
	h.do(req{method: "GET", path: "/api/v1/me/security", token: tok}).want(t, 403, "enrollment_required")
	h.do(req{method: "POST", path: "/api/v1/logout", token: tok}).want(t, 204)
	tok = enrolLogin() // survives logout and login

	h.reauth(tok, "totp", "123456").want(t, 403, "enrollment_required")
	h.reauthPassword(t, tok)
	secret := h.startTOTP(t, tok).secret
	enrolLogin() // a pending app is not a method
	r := h.confirmTOTP(t, tok, secret)
	full := r.str(t, "session_token")
	if full == "" || full == tok || !recoveryCodeRE.MatchString(r.str(t, "recovery_code")) {
		t.Fatalf("got %s, want a recovery code and a new session token", r.body)
	}
	h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 401, "unauthenticated")
	if s := h.do(req{method: "GET", path: "/api/v1/session", token: full}).want(t, 200).json(t); s["aal"] != float64(2) {
		t.Errorf("got session %v, want aal 2", s)
	}
	h.do(req{method: "GET", path: "/api/v1/me/security", token: full}).want(t, 200)
	h.do(req{method: "GET", path: "/api/v1/me/events", token: full}).want(t, 200)

	// The last method of a role that requires MFA cannot be removed.
	h.reauth(full, "totp", h.freshCode(t, secret)).want(t, 200)
	h.do(req{method: "DELETE", path: "/api/v1/me/totp", token: full}).want(t, 409, "conflict")
	h.signIn(t, "root@example.com", secret)

	t.Run("ConfirmedFactorWithoutPolicy", func(t *testing.T) {
		h.totpUser(t, "user@example.com")
		tok := h.loginAAL1(t, "user@example.com")
		h.do(req{method: "GET", path: "/api/v1/me/security", token: tok}).want(t, 403, "mfa_required")
		h.do(req{method: "POST", path: "/api/v1/me/totp", token: tok, body: map[string]any{}}).want(t, 403, "mfa_required")
	})
}

// TestAdminResetMFA: an admin reset removes every method and ends every
// session (requirements G 53, K 72).
func TestAdminResetMFA(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		secret, rc, enrolling := h.totpUser(t, "nina@example.com")
		id := h.do(req{method: "GET", path: "/api/v1/admin/users?email=nina@example.com", token: h.admin}).want(t, 200).
			json(t)["users"].([]any)[0].(map[string]any)["id"].(float64)
		full := h.signIn(t, "nina@example.com", secret)
		aal1 := h.loginAAL1(t, "nina@example.com")
		// Lock the account, to see the reset clear that too.
		h.clock.Advance(totpStep)
		for range 10 {
			h.mfa(aal1, "totp", wrongCode(t, secret, h.clock.Now())).want(t, 401, "invalid_code")
		}

		path := fmt.Sprintf("/api/v1/admin/users/%d/mfa", int64(id))
		h.do(req{method: "DELETE", path: path, token: full}).want(t, 401, "unauthenticated")
		h.do(req{method: "DELETE", path: path, token: h.admin}).want(t, 204)
		for _, tok := range []string{enrolling, full, aal1} {
			h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 401, "unauthenticated")
		}
		tok := h.loginAAL2(t, "nina@example.com")
		if got := len(h.login("nina@example.com", pw).json(t)["methods"].([]any)); got != 0 {
			t.Errorf("got %d methods after the reset, want 0", got)
		}
		reset := eventsOf(h.events(t, tok), auth.EventMFAResetByAdmin)
		if len(reset) != 1 {
			t.Fatalf("got %d mfa_reset_by_admin events, want 1", len(reset))
		}
		checkEventSource(t, reset[0], h.clock.Now())

		// The old recovery code is gone, and the lock with it: a new app
		// can be confirmed at once.
		h.reauthPassword(t, tok)
		next := h.startTOTP(t, tok).secret
		newRC := h.confirmTOTP(t, tok, next).str(t, "recovery_code")
		h.mfa(h.loginAAL1(t, "nina@example.com"), "recovery_code", rc).want(t, 401, "invalid_code")
		h.mfa(h.loginAAL1(t, "nina@example.com"), "recovery_code", newRC).want(t, 200)

		tests := []struct {
			name, id string
			status   int
			code     string
		}{
			{"Unknown", "999999", 404, "not_found"},
			{"NotAnInteger", "abc", 400, "invalid_request"},
			{"Zero", "0", 400, "invalid_request"},
			{"Negative", "-1", 400, "invalid_request"},
		}
		for _, tc := range tests {
			r := h.do(req{method: "DELETE", path: "/api/v1/admin/users/" + tc.id + "/mfa", token: h.admin})
			if r.status != tc.status || r.errorCode(t) != tc.code {
				t.Errorf("%s: got %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
			}
		}
	})
}

// TestSecondFactorCounterIsSeparate: wrong passwords do not lock the second
// factor (requirement E 36), and step-up passwords are throttled like
// logins (E 37).
func TestSecondFactorCounterIsSeparate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	secret, _, _ := h.totpUser(t, "rita@example.com")
	for i := range 12 {
		r := h.do(req{method: "POST", path: "/api/v1/login", header: map[string]string{"X-Forwarded-For": "192.0.2.66"},
			body: map[string]string{"email": "rita@example.com", "password": fmt.Sprint("guess ", i)}})
		if r.status != 401 && r.status != 429 {
			t.Fatalf("wrong password %d: got %d %s, want 401 or 429", i, r.status, r.body)
		}
	}
	// The user, from their usual address, passes the second factor at once.
	h.signIn(t, "rita@example.com", secret)

	h.addUser("sam@example.com", pw, "")
	tok := h.loginAAL2(t, "sam@example.com")
	for i := range 10 {
		h.do(req{method: "POST", path: "/api/v1/me/reauth", token: tok,
			body: map[string]string{"method": "password", "password": fmt.Sprint("guess ", i)}}).want(t, 401, "invalid_credentials")
	}
	r := h.do(req{method: "POST", path: "/api/v1/me/reauth", token: tok,
		body: map[string]string{"method": "password", "password": pw}}).want(t, 429, "rate_limited")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra <= 0 {
		t.Errorf("got Retry-After %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}
}

// TestTOTPReplayTwoInstances: two servers on one PostgreSQL, twenty aal1
// sessions split across them, one valid code sent by all at once: exactly
// one is accepted (requirement B 9, across instances).
func TestTOTPReplayTwoInstances(t *testing.T) {
	t.Parallel()
	dsn := storetest.Postgres(t)
	lockLater := withConfig(func(c *auth.Config) { c.Lockout.LockEvery = 100 })
	a := newHarness(t, dsn, lockLater)
	b := newHarness(t, dsn, lockLater, withKeyring(a.keyring))
	secret, _, _ := a.totpUser(t, "erin2@example.com")
	for round := range 3 {
		b.clock.Set(a.clock.Now())
		code := a.freshCode(t, secret)
		b.clock.Set(a.clock.Now())
		start := make(chan struct{})
		out := make([]*response, 20)
		var wg sync.WaitGroup
		for i := range out {
			h := a
			if i%2 == 1 {
				h = b
			}
			tok := h.loginAAL1(t, "erin2@example.com")
			wg.Go(func() {
				<-start
				out[i] = h.mfa(tok, "totp", code)
			})
		}
		close(start)
		wg.Wait()
		if got := countStatuses(t, out); got["200"] != 1 || got["401 invalid_code"] != 19 {
			t.Errorf("round %d: got %v, want exactly one 200 and nineteen 401 invalid_code", round, got)
		}
	}
}
