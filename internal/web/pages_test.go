package web_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/web"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// pageRequest is one request as a browser sends it: a form body, the
// session cookie, and no redirect followed.
type pageRequest struct {
	method, path string
	cookie       string     // the session token, sent as the cookie
	form         url.Values // sent as application/x-www-form-urlencoded
	body         string     // a raw form body, instead of form
}

// page sends r and returns the answer as it came.
func (h *harness) page(t *testing.T, r pageRequest, cookieName string) *response {
	t.Helper()
	body := r.body
	if r.form != nil {
		body = r.form.Encode()
	}
	hr, err := http.NewRequest(r.method, h.url+r.path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.method == http.MethodPost {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: cookieName, Value: r.cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: rb}
}

var (
	// cookieValue hides the session token of a Set-Cookie header.
	cookieValue = regexp.MustCompile(`^([^=]+)=[^;]+`)
	// shownRecoveryCode is a recovery code inside a page.
	shownRecoveryCode = regexp.MustCompile(`[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){5}`)
)

// pageGolden renders an answer as its golden file holds it: the status,
// the headers a page's behaviour depends on, and the body, with the session
// token and any recovery code replaced by placeholders.
func pageGolden(r *response) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d %s\n", r.status, http.StatusText(r.status))
	for _, k := range []string{"Content-Type", "Cache-Control", "Location", "Retry-After"} {
		if v := r.header.Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	for _, c := range r.header.Values("Set-Cookie") {
		fmt.Fprintf(&b, "Set-Cookie: %s\n", cookieValue.ReplaceAllString(c, "$1=TOKEN"))
	}
	b.WriteString("\n")
	b.Write(shownRecoveryCode.ReplaceAll(r.body, []byte("RECOVERY-CODE")))
	return b.Bytes()
}

// checkGolden compares got with testdata/pages/name.golden (rewritten with
// -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "pages", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPages -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}

// TestPages renders every page and every outcome of its forms, and compares
// the answers with the golden files in testdata/pages: the HTML, the status
// and the headers a browser acts on.
func TestPages(t *testing.T) {
	h := newHarness(t, sqliteDSN(t), withRoles("admin"), withConfig(func(c *auth.Config) { c.Lockout.LockEvery = 2 }))
	const cookie = "__Host-latchkey_session"
	h.addUser("plain@example.com", pw, "")
	plain := h.loginAAL2(t, "plain@example.com")
	secret, rc, _ := h.totpUser(t, "app@example.com")
	h.phoneUser(t, "phone@example.com", "+12025550123")
	h.addUser("admin@example.com", pw, "admin")
	enrol := h.login("admin@example.com", pw).str(t, "session_token")
	aal1 := func() string { return h.loginAAL1(t, "app@example.com") }

	tests := []struct {
		name string
		r    func() pageRequest
	}{
		{"Root", func() pageRequest { return pageRequest{method: "GET", path: "/"} }},
		{"Login", func() pageRequest { return pageRequest{method: "GET", path: "/login"} }},
		{"LoginWrongPassword", func() pageRequest {
			return pageRequest{method: "POST", path: "/login", form: url.Values{"email": {"plain@example.com"}, "password": {"wrong password"}}}
		}},
		{"LoginMissingPassword", func() pageRequest {
			return pageRequest{method: "POST", path: "/login", form: url.Values{"email": {"plain@example.com"}}}
		}},
		{"LoginUnreadableForm", func() pageRequest {
			return pageRequest{method: "POST", path: "/login", body: "email=plain%40example.com&password=%zz"}
		}},
		{"LoginWithoutFactor", func() pageRequest {
			return pageRequest{method: "POST", path: "/login", form: url.Values{"email": {"plain@example.com"}, "password": {pw}}}
		}},
		{"LoginWithApp", func() pageRequest {
			return pageRequest{method: "POST", path: "/login", form: url.Values{"email": {"app@example.com"}, "password": {pw}}}
		}},
		{"Account", func() pageRequest { return pageRequest{method: "GET", path: "/account", cookie: plain} }},
		{"AccountWithoutSession", func() pageRequest { return pageRequest{method: "GET", path: "/account"} }},
		{"AccountAtAAL1", func() pageRequest { return pageRequest{method: "GET", path: "/account", cookie: aal1()} }},
		{"AccountEnrolmentRequired", func() pageRequest { return pageRequest{method: "GET", path: "/account", cookie: enrol} }},
		{"MFA", func() pageRequest { return pageRequest{method: "GET", path: "/login/mfa", cookie: aal1()} }},
		{"MFAWithoutSession", func() pageRequest { return pageRequest{method: "GET", path: "/login/mfa"} }},
		{"MFAAtAAL2", func() pageRequest { return pageRequest{method: "GET", path: "/login/mfa", cookie: plain} }},
		{"MFAPhone", func() pageRequest {
			return pageRequest{method: "GET", path: "/login/mfa", cookie: h.loginAAL1(t, "phone@example.com")}
		}},
		{"MFAEnrolmentRequired", func() pageRequest { return pageRequest{method: "GET", path: "/login/mfa", cookie: enrol} }},
		{"MFAWrongCode", func() pageRequest {
			return pageRequest{method: "POST", path: "/login/mfa", cookie: aal1(), form: url.Values{"method": {"totp"}, "code": {wrongCode(t, secret, h.clock.Now())}}}
		}},
		{"MFALocked", func() pageRequest {
			// LockEvery is 2: the second wrong code in a row locks.
			tok := aal1()
			h.page(t, pageRequest{method: "POST", path: "/login/mfa", cookie: tok, form: url.Values{"method": {"totp"}, "code": {wrongCode(t, secret, h.clock.Now())}}}, cookie)
			return pageRequest{method: "POST", path: "/login/mfa", cookie: tok, form: url.Values{"method": {"totp"}, "code": {h.freshCode(t, secret)}}}
		}},
		{"MFARecoveryCodeChosen", func() pageRequest {
			h.clock.Advance(h.svc.Config().Lockout.LockFor)
			return pageRequest{method: "POST", path: "/login/mfa", cookie: aal1(), form: url.Values{"method": {"recovery_code"}, "code": {"0000"}}}
		}},
		{"MFAWithoutMethod", func() pageRequest {
			return pageRequest{method: "POST", path: "/login/mfa", cookie: aal1(), form: url.Values{"code": {"123456"}}}
		}},
		{"MFAUnreadableForm", func() pageRequest {
			return pageRequest{method: "POST", path: "/login/mfa", cookie: aal1(), body: "method=totp&code=%zz"}
		}},
		{"MFASubmitAtAAL2", func() pageRequest {
			return pageRequest{method: "POST", path: "/login/mfa", cookie: plain, form: url.Values{"method": {"totp"}, "code": {"123456"}}}
		}},
		{"MFACode", func() pageRequest {
			return pageRequest{method: "POST", path: "/login/mfa", cookie: aal1(), form: url.Values{"method": {"totp"}, "code": {h.freshCode(t, secret)}}}
		}},
		{"MFARecoveryCode", func() pageRequest {
			return pageRequest{method: "POST", path: "/login/mfa", cookie: aal1(), form: url.Values{"method": {"recovery_code"}, "code": {rc}}}
		}},
		{"MFAAfterRecoveryCode", func() pageRequest { return pageRequest{method: "GET", path: "/login/mfa", cookie: aal1()} }},
		{"MFASendSMS", func() pageRequest {
			h.clock.Advance(smsCooldown)
			return pageRequest{method: "POST", path: "/login/mfa/sms", cookie: h.loginAAL1(t, "phone@example.com")}
		}},
		{"MFASendSMSTooSoon", func() pageRequest {
			h.clock.Advance(smsCooldown)
			tok := h.loginAAL1(t, "phone@example.com")
			h.page(t, pageRequest{method: "POST", path: "/login/mfa/sms", cookie: tok}, cookie)
			return pageRequest{method: "POST", path: "/login/mfa/sms", cookie: tok}
		}},
		{"MFASendSMSWithoutPhone", func() pageRequest {
			return pageRequest{method: "POST", path: "/login/mfa/sms", cookie: aal1()}
		}},
		{"Logout", func() pageRequest {
			return pageRequest{method: "POST", path: "/logout", cookie: h.loginAAL2(t, "plain@example.com")}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, pageGolden(h.page(t, tc.r(), cookie)))
		})
	}
}

// TestDevPages renders the pages only --dev serves.
func TestDevPages(t *testing.T) {
	h := newHarness(t, sqliteDSN(t), withDev())
	checkGolden(t, "Outbox", pageGolden(h.page(t, pageRequest{method: "GET", path: "/dev/outbox"}, "latchkey_session")))

	msgs := []web.OutboxMessage{{To: "+12025550123", Body: "Your Latchkey code is 123456.\n\n@login.example.test #123456", Purpose: "login",
		At: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)}}
	h = newHarness(t, sqliteDSN(t), withDev(), func(s *harnessSetup) { s.web.Outbox = func() []web.OutboxMessage { return msgs } })
	checkGolden(t, "OutboxWithMessages", pageGolden(h.page(t, pageRequest{method: "GET", path: "/dev/outbox"}, "latchkey_session")))
}

// TestPageFormsWithoutSession: a form posted after the session ended gets
// the page GET /login/mfa gives in that case, which sends the person to
// sign in, not a JSON error: a page route's failures are pages, also when
// the guard refuses.
func TestPageFormsWithoutSession(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	const cookie = "__Host-latchkey_session"
	h.totpUser(t, "gone@example.com")
	ended := h.loginAAL1(t, "gone@example.com")
	h.do(req{method: "POST", path: "/api/v1/logout", token: ended}).want(t, 204)
	want := h.page(t, pageRequest{method: "GET", path: "/login/mfa"}, cookie)
	if want.status != http.StatusUnauthorized || !strings.Contains(string(want.body), `<a href="/login">`) {
		t.Fatalf("GET /login/mfa without a session: got %d %s, want 401 and a link to /login", want.status, want.body)
	}
	forms := []struct{ name, path string }{
		{"MFASubmit", "/login/mfa"},
		{"MFASendSMS", "/login/mfa/sms"},
		{"Logout", "/logout"},
	}
	for _, f := range forms {
		for name, tok := range map[string]string{"NoCookie": "", "EndedSession": ended} {
			t.Run(f.name+"/"+name, func(t *testing.T) {
				got := h.page(t, pageRequest{method: "POST", path: f.path, cookie: tok, form: url.Values{"method": {"totp"}, "code": {"123456"}}}, cookie)
				if ct := got.header.Get("Content-Type"); got.status != want.status || ct != "text/html; charset=utf-8" {
					t.Errorf("got %d %s, want %d text/html; body %.200s", got.status, ct, want.status, got.body)
				}
				if bytes.HasPrefix(bytes.TrimSpace(got.body), []byte("{")) {
					t.Errorf("got a JSON body %s, want a page", got.body)
				}
				if !bytes.Equal(got.body, want.body) {
					t.Errorf("got page\n%s\nwant the page of GET /login/mfa\n%s", got.body, want.body)
				}
			})
		}
	}
}
