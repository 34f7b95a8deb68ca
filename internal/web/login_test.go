package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

func TestLogin(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		h.addUser("  Alice@Example.COM ", pw, "")

		t.Run("OK", func(t *testing.T) {
			r := h.login("alice@example.com", pw)
			m := r.json(t)
			if m["aal"] != float64(2) || m["mfa_required"] != false || m["enrollment_required"] != false {
				t.Errorf("got %s, want aal 2 without MFA", r.body)
			}
			tok := r.str(t, "session_token")
			if len(tok) < 43 {
				t.Errorf("got a %d-character token, want at least 43 (256 bits)", len(tok))
			}
			set := r.header.Get("Set-Cookie")
			c, err := http.ParseSetCookie(set)
			if err != nil {
				t.Fatalf("parse Set-Cookie %q: %v", set, err)
			}
			// Attribute by attribute, exactly: "Path=/" must not pass for
			// "Path=/api".
			if c.Name != "__Host-latchkey_session" || c.Value != tok || !c.HttpOnly || !c.Secure ||
				c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
				t.Errorf("got Set-Cookie %q, want __Host-latchkey_session=<token>; HttpOnly; Secure; SameSite=Lax; Path=/; no Domain", set)
			}
			s := h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200).json(t)
			if s["email"] != "alice@example.com" || s["role"] != "user" || s["aal"] != float64(2) {
				t.Errorf("got session %v", s)
			}
		})

		t.Run("EmailIsCaseFolded", func(t *testing.T) {
			h.login(" ALICE@example.com", pw)
		})

		t.Run("NoUserEnumeration", func(t *testing.T) {
			wrong := h.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "alice@example.com", "password": "wrong password!"}})
			unknown := h.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "nobody@example.com", "password": "wrong password!"}})
			wrong.want(t, 401, "invalid_credentials")
			unknown.want(t, 401, "invalid_credentials")
			if !bytes.Equal(wrong.body, unknown.body) {
				t.Errorf("bodies differ:\nwrong password: %s\nunknown email:  %s", wrong.body, unknown.body)
			}
			if strings.Contains(string(wrong.body), "methods") {
				t.Errorf("a failed login reveals methods: %s", wrong.body)
			}
		})

		t.Run("SessionBehaviour", func(t *testing.T) {
			first := h.login("alice@example.com", pw).str(t, "session_token")
			// A new login presenting the old token ends the old session.
			second := h.do(req{method: "POST", path: "/api/v1/login", cookie: first,
				body: map[string]string{"email": "alice@example.com", "password": pw}}).want(t, 200).str(t, "session_token")
			if second == first {
				t.Fatal("login reused the token")
			}
			h.do(req{method: "GET", path: "/api/v1/session", token: first}).want(t, 401, "unauthenticated")
			h.do(req{method: "GET", path: "/api/v1/session", cookie: second}).want(t, 200)
			h.do(req{method: "POST", path: "/api/v1/logout", token: second}).want(t, 204)
			h.do(req{method: "GET", path: "/api/v1/session", token: second}).want(t, 401, "unauthenticated")
		})

		t.Run("AttackerChosenCookieIsReplaced", func(t *testing.T) {
			r := h.do(req{method: "POST", path: "/api/v1/login", cookie: "attacker-chosen-value",
				body: map[string]string{"email": "alice@example.com", "password": pw}}).want(t, 200)
			if r.str(t, "session_token") == "attacker-chosen-value" {
				t.Fatal("the server adopted a client-chosen session id")
			}
			h.do(req{method: "GET", path: "/api/v1/session", cookie: "attacker-chosen-value"}).want(t, 401)
		})

		t.Run("IdleTimeout", func(t *testing.T) {
			tok := h.login("alice@example.com", pw).str(t, "session_token")
			for range 3 { // activity keeps the session alive past 30 minutes
				h.clock.Advance(20 * time.Minute)
				h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200)
			}
			h.clock.Advance(31 * time.Minute)
			h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 401, "unauthenticated")
		})

		t.Run("ActivityIsWrittenOffTheRequestPath", func(t *testing.T) {
			tok := h.login("alice@example.com", pw).str(t, "session_token")
			loggedIn := h.clock.Now()
			h.clock.Advance(20 * time.Minute)
			h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200)
			seen := h.clock.Now()
			// The request did not write; the activity waits for the flush.
			if got := lastSeen(t, h, tok); !got.Equal(loggedIn.Truncate(time.Microsecond)) {
				t.Fatalf("last seen %v before the flush, want the login's %v", got, loggedIn)
			}
			// Cleanup flushes first: 35 minutes after login, 15 after the
			// activity, the session must survive it.
			h.clock.Advance(15 * time.Minute)
			if _, err := h.svc.CleanupSessions(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := lastSeen(t, h, tok); !got.Equal(seen.Truncate(time.Microsecond)) {
				t.Errorf("last seen %v after the flush, want %v", got, seen)
			}
			h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200)
		})

		t.Run("AbsoluteTimeout", func(t *testing.T) {
			tok := h.login("alice@example.com", pw).str(t, "session_token")
			for i := 0; i < 35; i++ { // 11 h 40 min of activity
				h.clock.Advance(20 * time.Minute)
				h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200)
			}
			h.clock.Advance(20 * time.Minute) // 12 h
			h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 401, "unauthenticated")
		})
	})
}

func TestLoginBadInput(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	h.addUser("bob@example.com", pw, "")
	tests := []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
	}{
		{"MalformedJSON", `{"email":`, "application/json", 400, "invalid_request"},
		{"WrongType", `{"email": 5, "password": "x"}`, "application/json", 400, "invalid_request"},
		{"UnknownField", `{"email":"bob@example.com","password":"` + pw + `","admin":true}`, "application/json", 400, "invalid_request"},
		{"TwoValues", `{"email":"bob@example.com","password":"x"} {}`, "application/json", 400, "invalid_request"},
		{"MissingPassword", `{"email":"bob@example.com"}`, "application/json", 400, "invalid_request"},
		{"TextPlain", `{"email":"bob@example.com","password":"` + pw + `"}`, "text/plain", 415, "invalid_request"},
		{"TooLarge", `{"email":"bob@example.com","password":"` + strings.Repeat("a", 70<<10) + `"}`, "application/json", 413, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(req{method: "POST", path: "/api/v1/login", body: tc.body, header: map[string]string{"Content-Type": tc.ctype}})
			r.want(t, tc.status, tc.code)
			if msg, _ := r.json(t)["error"].(map[string]any)["message"].(string); msg == "" {
				t.Errorf("no error message in %s", r.body)
			}
		})
	}
	// None of it counted as a failed password: the account is not throttled.
	h.login("bob@example.com", pw)
}

func TestLoginThrottling(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		h.addUser("carol@example.com", pw, "")
		from := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }
		attempt := func(ip, password string) *response {
			return h.do(req{method: "POST", path: "/api/v1/login", header: from(ip),
				body: map[string]string{"email": "carol@example.com", "password": password}})
		}

		t.Run("SuccessesDoNotCount", func(t *testing.T) {
			for range 15 {
				attempt("203.0.113.1", pw).want(t, 200)
			}
		})

		t.Run("AccountAndIP", func(t *testing.T) {
			for i := range 10 {
				attempt("203.0.113.2", fmt.Sprintf("wrong password %d", i)).want(t, 401, "invalid_credentials")
			}
			r := attempt("203.0.113.2", "wrong password x").want(t, 429, "rate_limited")
			if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("got Retry-After %q, want a positive number of seconds", ra)
			}
			// The throttle holds whatever the password: no oracle.
			attempt("203.0.113.2", pw).want(t, 429, "rate_limited")
			// The user from their usual IP is unaffected.
			attempt("203.0.113.1", pw).want(t, 200)
			// Time heals.
			h.clock.Advance(7 * time.Minute)
			attempt("203.0.113.2", pw).want(t, 200)
		})

		t.Run("DistributedGuessingNeverLocksOutTheUser", func(t *testing.T) {
			h.addUser("dave@example.com", pw, "")
			h.do(req{method: "POST", path: "/api/v1/login", header: from("198.51.100.7"),
				body: map[string]string{"email": "dave@example.com", "password": pw}}).want(t, 200)
			guess := func(i int) *response {
				return h.do(req{method: "POST", path: "/api/v1/login", header: from(fmt.Sprintf("192.0.2.%d", i+1)),
					body: map[string]string{"email": "dave@example.com", "password": "guess " + fmt.Sprint(i)}})
			}
			for i := range 20 {
				guess(i).want(t, 401, "invalid_credentials")
			}
			guess(100).want(t, 429, "rate_limited")
			// The real user's known IP still gets in.
			h.do(req{method: "POST", path: "/api/v1/login", header: from("198.51.100.7"),
				body: map[string]string{"email": "dave@example.com", "password": pw}}).want(t, 200)
		})

		t.Run("UnknownEmailThrottledAlike", func(t *testing.T) {
			for i := range 10 {
				h.do(req{method: "POST", path: "/api/v1/login", header: from("203.0.113.9"),
					body: map[string]string{"email": "ghost@example.com", "password": fmt.Sprint("nope ", i)}}).want(t, 401, "invalid_credentials")
			}
			h.do(req{method: "POST", path: "/api/v1/login", header: from("203.0.113.9"),
				body: map[string]string{"email": "ghost@example.com", "password": "nope"}}).want(t, 429, "rate_limited")
		})
	})
}

func TestChangePassword(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		h.addUser("erin@example.com", pw, "")
		a := h.login("erin@example.com", pw).str(t, "session_token")
		b := h.login("erin@example.com", pw).str(t, "session_token")
		const next = "a completely new passphrase"

		// Like every change to how the account is protected, it needs a
		// step-up in this session: the password alone, with a session, is
		// not enough to evict the owner.
		r := h.do(req{method: "POST", path: "/api/v1/me/password", token: a,
			body: map[string]string{"current_password": pw, "new_password": next}}).want(t, 403, "reauth_required")
		if m := r.json(t)["error"].(map[string]any)["methods"]; fmt.Sprint(m) != "[password]" {
			t.Errorf("got methods %v, want [password]", m)
		}
		h.do(req{method: "GET", path: "/api/v1/session", token: b}).want(t, 200)
		h.reauthPassword(t, a)

		h.do(req{method: "POST", path: "/api/v1/me/password", token: a,
			body: map[string]string{"current_password": "not it at all", "new_password": next}}).want(t, 401, "invalid_credentials")
		h.do(req{method: "POST", path: "/api/v1/me/password", token: a,
			body: map[string]string{"current_password": pw, "new_password": "short"}}).want(t, 400, "invalid_request")
		h.do(req{method: "POST", path: "/api/v1/me/password", token: a,
			body: map[string]string{"current_password": pw, "new_password": "password123"}}).want(t, 400, "invalid_request")
		h.do(req{method: "POST", path: "/api/v1/me/password", token: a,
			body: map[string]string{"current_password": pw, "new_password": next}}).want(t, 204)

		h.do(req{method: "GET", path: "/api/v1/session", token: b}).want(t, 401, "unauthenticated")
		h.do(req{method: "GET", path: "/api/v1/session", token: a}).want(t, 200)
		h.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "erin@example.com", "password": pw}}).want(t, 401)
		h.login("erin@example.com", next)

		evs := h.do(req{method: "GET", path: "/api/v1/me/events", token: a}).want(t, 200).json(t)["events"].([]any)
		if typ := evs[0].(map[string]any)["type"]; typ != "login_succeeded" {
			t.Errorf("newest event %v, want login_succeeded", typ)
		}
		var types []string
		for _, e := range evs {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		if !strings.Contains(strings.Join(types, ","), "password_changed") {
			t.Errorf("events %v lack password_changed", types)
		}
	})
}

func TestCrossOriginProtection(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	h.addUser("frank@example.com", pw, "")
	tok := h.login("frank@example.com", pw).str(t, "session_token")
	tests := []struct {
		name   string
		r      req
		status int
	}{
		{"CookieFromOtherOrigin", req{method: "POST", path: "/api/v1/logout", cookie: tok, header: map[string]string{"Origin": "https://evil.example"}}, 403},
		{"CookieCrossSiteFetch", req{method: "POST", path: "/api/v1/logout", cookie: tok, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403},
		{"LoginFromOtherOrigin", req{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "frank@example.com", "password": pw}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403},
		{"BearerFromOtherOrigin", req{method: "GET", path: "/api/v1/session", token: tok, header: map[string]string{"Origin": "https://app.example"}}, 200},
		{"CookieGetFromOtherOrigin", req{method: "GET", path: "/api/v1/session", cookie: tok, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 200},
		{"CookieSameOrigin", req{method: "POST", path: "/api/v1/logout", cookie: tok, header: map[string]string{"Sec-Fetch-Site": "same-origin"}}, 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.do(tc.r).want(t, tc.status)
		})
	}
	// A bearer POST from another origin is allowed (the token is explicit).
	tok2 := h.login("frank@example.com", pw).str(t, "session_token")
	h.do(req{method: "POST", path: "/api/v1/logout", token: tok2, header: map[string]string{"Origin": "https://app.example"}}).want(t, 204)
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	for _, path := range []string{"/login", "/api/v1/session", "/healthz"} {
		r := h.do(req{method: "GET", path: path})
		for header, want := range map[string]string{
			"Content-Security-Policy":   "frame-ancestors 'none'",
			"X-Content-Type-Options":    "nosniff",
			"Referrer-Policy":           "no-referrer",
			"Strict-Transport-Security": "max-age=",
		} {
			if got := r.header.Get(header); !strings.Contains(got, want) {
				t.Errorf("%s: %s = %q, want it to contain %q", path, header, got, want)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %q", path, csp)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		id := h.addUser("Grace@Example.com", pw, "admin")
		h.do(req{method: "POST", path: "/api/v1/admin/users", token: h.admin,
			body: map[string]string{"email": "grace@example.com", "password": pw}}).want(t, 409, "conflict")
		h.do(req{method: "POST", path: "/api/v1/admin/users", token: h.admin,
			body: map[string]string{"email": "not-an-email", "password": pw}}).want(t, 400, "invalid_request")
		h.do(req{method: "POST", path: "/api/v1/admin/users", token: h.admin,
			body: map[string]string{"email": "x@example.com", "password": "1234567"}}).want(t, 400, "invalid_request")

		list := h.do(req{method: "GET", path: "/api/v1/admin/users?email=GRACE@example.com", token: h.admin}).want(t, 200).json(t)
		users := list["users"].([]any)
		if len(users) != 1 || users[0].(map[string]any)["id"] != id || users[0].(map[string]any)["role"] != "admin" {
			t.Errorf("got %v, want grace (id %v, admin)", users, id)
		}

		// Neither no token, a wrong token nor a user session opens the admin API.
		sess := h.login("grace@example.com", pw).str(t, "session_token")
		for name, tok := range map[string]string{"None": "", "Wrong": "lk_wrong", "Session": sess} {
			t.Run(name, func(t *testing.T) {
				r := h.do(req{method: "GET", path: "/api/v1/admin/users", token: tok})
				if r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
					t.Errorf("got %d, want 401 or 403", r.status)
				}
			})
		}
		// An admin token is not a user session.
		h.do(req{method: "GET", path: "/api/v1/session", token: h.admin}).want(t, 401, "unauthenticated")
		// Basic auth is no side door.
		h.do(req{method: "GET", path: "/api/v1/session", header: map[string]string{"Authorization": "Basic Z3JhY2VAZXhhbXBsZS5jb206Y29ycmVjdA=="}}).want(t, 401)
	})
}

func TestHealth(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	h.do(req{method: "GET", path: "/healthz"}).want(t, 200)
	h.do(req{method: "GET", path: "/readyz"}).want(t, 200)
	h.db.Close()
	h.do(req{method: "GET", path: "/readyz"}).want(t, 503)
}

// lastSeen reads the session's stored last_seen_at.
func lastSeen(t *testing.T, h *harness, token string) time.Time {
	t.Helper()
	s, _, err := h.db.SessionByTokenHash(t.Context(), auth.HashToken(token))
	if err != nil {
		t.Fatal(err)
	}
	return s.LastSeenAt
}
