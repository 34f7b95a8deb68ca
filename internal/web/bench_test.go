package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/secretbox"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/totp"
	"github.com/latchkey/latchkey/internal/web"
)

// benchServer is the stack newHarness builds (SQLite, test password
// parameters, the production throttles, a settable clock) for benchmarks,
// which have no *testing.T for the harness. Its exchanges are not checked
// against the OpenAPI document: the tests do that, and the timed loop
// should measure the server.
type benchServer struct {
	url   string
	clock *clock
	svc   *auth.Service
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, storetest.SQLite(b), logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	k, err := secretbox.GenerateKey(rand.Reader, "bench1")
	if err != nil {
		b.Fatal(err)
	}
	keyring, err := secretbox.NewKeyring([]secretbox.Key{k})
	if err != nil {
		b.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC().Truncate(30 * time.Second).Add(time.Second)}
	cfg := auth.DefaultConfig()
	// Every iteration moves the clock on by a step, so the session must
	// outlive any b.N.
	cfg.SessionAbsolute = 100 * 365 * 24 * time.Hour
	svc := auth.NewService(cfg, auth.Deps{
		Store:            db,
		Hasher:           password.NewHasher(testParams, 4, 0, rand.Reader),
		Sealer:           keyring,
		Throttles:        ratelimit.PasswordThrottles(ratelimit.NewMemory(clk.Now)),
		ValidatePassword: password.ValidateFor,
		Now:              clk.Now,
		Logger:           logger,
	})
	srv, err := web.NewServer(logger, web.Options{}, svc)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	b.Cleanup(ts.Close)
	return &benchServer{url: ts.URL, clock: clk, svc: svc}
}

// call sends one JSON request and returns the status and the decoded body.
func (s *benchServer) call(b *testing.B, method, path, token string, body any) (int, map[string]any) {
	b.Helper()
	buf, err := json.Marshal(body)
	if err != nil {
		b.Fatal(err)
	}
	r, err := http.NewRequest(method, s.url+path, bytes.NewReader(buf))
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// must fails the benchmark unless the call answered status.
func (s *benchServer) must(b *testing.B, status int, method, path, token string, body any) map[string]any {
	b.Helper()
	got, m := s.call(b, method, path, token, body)
	if got != status {
		b.Fatalf("%s %s: got %d %v, want %d", method, path, got, m, status)
	}
	return m
}

// userWithTOTP creates a user with a linked app and returns the app's key,
// the recovery code and a signed-in (aal2) token.
func (s *benchServer) userWithTOTP(b *testing.B) (key []byte, recoveryCode, tok string) {
	b.Helper()
	return s.namedUserWithTOTP(b, "bench@example.com")
}

// namedUserWithTOTP is userWithTOTP for the user with this email.
func (s *benchServer) namedUserWithTOTP(b *testing.B, email string) (key []byte, recoveryCode, tok string) {
	b.Helper()
	ctx := context.Background()
	if _, err := s.svc.CreateUser(ctx, email, pw, ""); err != nil {
		b.Fatal(err)
	}
	tok = s.must(b, 200, "POST", "/api/v1/login", "", map[string]string{"email": email, "password": pw})["session_token"].(string)
	s.must(b, 200, "POST", "/api/v1/me/reauth", tok, map[string]string{"method": "password", "password": pw})
	secret := s.must(b, 201, "POST", "/api/v1/me/totp", tok, map[string]any{})["secret"].(string)
	key, err := base32NoPad.DecodeString(secret)
	if err != nil {
		b.Fatal(err)
	}
	code := totp.CodeAt(key, totp.Step(s.clock.Now()))
	recoveryCode = s.must(b, 200, "POST", "/api/v1/me/totp/confirm", tok, map[string]string{"code": code})["recovery_code"].(string)
	return key, recoveryCode, tok
}

// BenchmarkReauthTOTP measures a TOTP step-up over HTTP: session lookup,
// lockout admission, secret unsealing, the HMACs of the window and the
// replay-guard UPDATE. Each iteration uses the next time step, so no code
// is a replay.
func BenchmarkReauthTOTP(b *testing.B) {
	s := newBenchServer(b)
	key, _, tok := s.userWithTOTP(b)
	codes := make([]string, b.N)
	start := totp.Step(s.clock.Now())
	for i := range codes {
		codes[i] = totp.CodeAt(key, start+int64(i)+1)
	}
	b.ResetTimer()
	for i := range b.N {
		s.clock.Advance(30 * time.Second)
		if got, m := s.call(b, "POST", "/api/v1/me/reauth", tok, map[string]string{"method": "totp", "code": codes[i]}); got != 200 {
			b.Fatalf("iteration %d: got %d %v, want 200", i, got, m)
		}
	}
}

// BenchmarkRecoveryCodeCheck measures a recovery-code step-up over HTTP:
// the keyed-hash comparison, the compare-and-swap that replaces the code
// and its two events. Each iteration uses the code the previous one issued.
func BenchmarkRecoveryCodeCheck(b *testing.B) {
	s := newBenchServer(b)
	_, rc, tok := s.userWithTOTP(b)
	b.ResetTimer()
	for i := range b.N {
		got, m := s.call(b, "POST", "/api/v1/me/reauth", tok, map[string]string{"method": "recovery_code", "code": rc})
		if got != 200 {
			b.Fatalf("iteration %d: got %d %v, want 200", i, got, m)
		}
		rc, _ = m["new_recovery_code"].(string)
	}
}

// BenchmarkReauthTOTPParallel measures TOTP step-ups over HTTP from 32
// concurrent clients (SetParallelism(16) on two cores; the count follows
// GOMAXPROCS), each on its own keep-alive connection, the way the load
// tool's totp-step scenario does, and reports the latency percentiles. A
// code works once per user and time step, so a pool of users hands out one
// (user, step) at a time; when every user has had the current step, the
// clock moves to the next one. Requests still in flight then present the
// previous step's code, which the ±1 step window accepts.
func BenchmarkReauthTOTPParallel(b *testing.B) {
	const users = 256
	s := newBenchServer(b)
	pool := &stepPool{clock: s.clock}
	for i := range users {
		key, _, tok := s.namedUserWithTOTP(b, fmt.Sprintf("bench%d@example.com", i))
		pool.users = append(pool.users, &stepUser{key: key, tok: tok})
	}
	// Every user's confirming code used the current step: start at the next.
	s.clock.Advance(30 * time.Second)
	pool.step = totp.Step(s.clock.Now())

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			u, step := pool.next()
			body := `{"method":"totp","code":"` + totp.CodeAt(u.key, step) + `"}`
			r, err := http.NewRequest("POST", s.url+"/api/v1/me/reauth", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+u.tok)
			t0 := time.Now()
			resp, err := client.Do(r)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("step-up: %d %v, want 200", resp.StatusCode, err)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
	}
}

// stepPool hands out each user once per time step, moving the clock on a
// step when all have had it.
type stepPool struct {
	mu     sync.Mutex
	clock  *clock
	users  []*stepUser
	issued int
	step   int64
}

type stepUser struct {
	key []byte
	tok string
}

func (p *stepPool) next() (*stepUser, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.issued == len(p.users) {
		p.clock.Advance(30 * time.Second)
		p.step++
		p.issued = 0
	}
	u := p.users[p.issued]
	p.issued++
	return u, p.step
}
