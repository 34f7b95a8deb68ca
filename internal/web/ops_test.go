package web_test

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestMetrics(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	h.addUser("m@example.com", pw, "")
	h.login("m@example.com", pw)
	h.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "m@example.com", "password": "not the password"}}).want(t, 401)
	body := string(h.do(req{method: "GET", path: "/metrics"}).want(t, 200).body)
	for _, want := range []string{
		`latchkey_http_requests_total{code="200",route="POST /api/v1/login"} 1`,
		`latchkey_http_requests_total{code="401",route="POST /api/v1/login"} 1`,
		`latchkey_http_request_duration_seconds_count{route="POST /api/v1/login"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "m@example.com") {
		t.Error("/metrics mentions a user")
	}
}

// withMetricsFrom lets peers in cidrs read /metrics.
func withMetricsFrom(cidrs ...string) harnessOption {
	return func(s *harnessSetup) {
		for _, c := range cidrs {
			s.web.MetricsFrom = append(s.web.MetricsFrom, netip.MustParsePrefix(c))
		}
	}
}

// TestMetricsAccess: /metrics answers only direct requests from loopback
// and the --metrics-from networks, decided on the TCP peer address; anyone
// else, whatever X-Forwarded-For says, gets 404 not_found. (The harness
// trusts 127.0.0.0/8 as proxies, which must not matter here.)
func TestMetricsAccess(t *testing.T) {
	h := newHarness(t, sqliteDSN(t), withMetricsFrom("10.0.0.0/8", "2001:db8::/32"))
	// Through the real listener: the test connects from loopback.
	h.do(req{method: "GET", path: "/metrics"}).want(t, 200)

	tests := []struct {
		name   string
		remote string
		header map[string]string
		want   int
	}{
		{"Loopback", "127.0.0.1:5000", nil, 200},
		{"LoopbackV6", "[::1]:5000", nil, 200},
		{"LoopbackMapped", "[::ffff:127.0.0.1]:5000", nil, 200},
		{"AllowedNetwork", "10.1.2.3:5000", nil, 200},
		{"AllowedNetworkV6Zoned", "[2001:db8::5%eth0]:5000", nil, 200},
		{"Other", "192.0.2.10:5000", nil, 404},
		{"OtherV6", "[2001:db9::5]:5000", nil, 404},
		{"OtherClaimingLoopback", "192.0.2.10:5000", map[string]string{"X-Forwarded-For": "127.0.0.1"}, 404},
		{"OtherClaimingAllowed", "192.0.2.10:5000", map[string]string{"X-Forwarded-For": "10.1.2.3"}, 404},
		// A proxy on the same host connects from loopback for anyone.
		{"ForwardedByLoopbackProxy", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 404},
		{"ForwardedHeader", "127.0.0.1:5000", map[string]string{"Forwarded": "for=203.0.113.9"}, 404},
		{"XRealIP", "10.1.2.3:5000", map[string]string{"X-Real-IP": "203.0.113.9"}, 404},
		{"MalformedPeer", "somewhere", nil, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = tc.remote
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.server.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("got %d, want %d; body %.200s", w.Code, tc.want, w.Body)
			}
			body := w.Body.String()
			if tc.want == 404 {
				if want := `{"error":{"code":"not_found","message":"Not found."}}`; strings.TrimSpace(body) != want {
					t.Errorf("got body %q, want %s", body, want)
				}
			} else if !strings.Contains(body, "latchkey_http_requests_total") {
				t.Errorf("got body %.200q, want the metrics", body)
			}
		})
	}
}

// TestRouteLabels: the log line and the metrics name the route a request
// matched, also when the guard refused it; a request that matched none is
// "unmatched" and gets the mux's 404 or 405.
func TestRouteLabels(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	h.do(req{method: "GET", path: "/account"}).want(t, 401)
	h.do(req{method: "GET", path: "/nowhere"}).want(t, 404)
	if r := h.do(req{method: "PUT", path: "/login"}); r.status != 405 || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Errorf("PUT /login: got %d, Allow %q, want 405 with Allow", r.status, r.header.Get("Allow"))
	}
	body := string(h.do(req{method: "GET", path: "/metrics"}).want(t, 200).body)
	for _, want := range []string{
		`latchkey_http_requests_total{code="401",route="GET /account"} 1`,
		`latchkey_http_requests_total{code="404",route="unmatched"} 1`,
		`latchkey_http_requests_total{code="405",route="unmatched"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, want := range []string{`"route":"GET /account","path":"/account","status":401`, `"route":"unmatched","path":"/nowhere","status":404`} {
		if !strings.Contains(h.logs.String(), want) {
			t.Errorf("the log lacks %s: %s", want, h.logs)
		}
	}
}

func TestRehashOnLogin(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	id := h.addUser("r@example.com", pw, "")
	ctx := context.Background()
	// A hash made under other (older) parameters.
	old := password.Params{Memory: 32, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	phc, err := password.NewHasher(old, 1, 0, rand.Reader).Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	u, err := h.db.UserByID(ctx, int64(id))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.ReplacePasswordHash(ctx, int64(id), u.PasswordHash, phc); err != nil {
		t.Fatal(err)
	}
	h.login("r@example.com", pw)
	u, err = h.db.UserByID(ctx, int64(id))
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash == phc || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash not upgraded: %s", u.PasswordHash)
	}
	h.login("r@example.com", pw)
}

// proxy forwards TCP to a PostgreSQL server and can be cut and restored,
// to take the database away from a running server.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.up("127.0.0.1:0")
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestDatabaseOutage takes PostgreSQL away between the password step and
// the second factor: nothing succeeds while it is gone (503 unavailable,
// never a session), and the same process recovers when it returns.
func TestDatabaseOutage(t *testing.T) {
	dsn := storetest.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.addr
	h := newHarness(t, u.String())
	h.addUser("o@example.com", pw, "")
	tok := h.login("o@example.com", pw).str(t, "session_token")

	p.down()
	h.do(req{method: "GET", path: "/readyz"}).want(t, 503)
	h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 503, "unavailable")
	h.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "o@example.com", "password": pw}}).want(t, 503, "unavailable")
	h.do(req{method: "POST", path: "/api/v1/login/mfa", token: tok, body: map[string]string{"method": "totp", "code": "123456"}}).want(t, 503, "unavailable")

	p.up(p.addr)
	h.do(req{method: "GET", path: "/readyz"}).want(t, 200)
	h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200)
	h.login("o@example.com", pw)
}
