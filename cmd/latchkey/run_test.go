package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/totp"
)

// cli runs one command in-process and returns its output.
func cli(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"latchkey"}, args...), func(k string) string { return env[k] },
		strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func mustCLI(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, err := cli(t, env, stdin, args...)
	if err != nil {
		t.Fatalf("latchkey %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// server is "latchkey serve" running in-process on a random port.
type server struct {
	url    string
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, append([]string{"latchkey", "serve", "--addr", "127.0.0.1:0"}, args...),
			func(k string) string { return env[k] }, strings.NewReader(""), pw, io.Discard)
		pw.Close()
		s.done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("server did not start: %v (%v)", err, <-s.done)
	}
	go io.Copy(io.Discard, pr)
	_, s.url, _ = strings.Cut(strings.TrimSpace(line), "listening on ")
	if s.url == "" {
		t.Fatalf("unexpected first line %q", line)
	}
	// Poll /healthz until the server answers.
	for i := 0; ; i++ {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i == 100 {
			t.Fatalf("server at %s never became healthy", s.url)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
}

// call sends a JSON request and decodes the JSON answer.
func call(t *testing.T, method, url, token string, body any, wantStatus int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: got %d, want %d: %s", method, url, resp.StatusCode, wantStatus, b)
	}
	m := map[string]any{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
	return m
}

// TestRun is the end-to-end test: the real program, on a random port, on
// both databases: migrate, add a user from the CLI, make an admin token,
// serve, sign in, enrol an app, rotate the sealing key with the server
// running, and sign in with the app under the new key alone.
func TestRun(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		k1 := strings.TrimSpace(mustCLI(t, nil, "", "keys", "generate", "--id", "k1"))
		env := map[string]string{"LATCHKEY_DB": dsn, "LATCHKEY_SECRET_KEYS": k1}

		mustCLI(t, env, "", "migrate")
		mustCLI(t, env, "", "migrate") // idempotent
		out := mustCLI(t, env, "a long enough password\n", "user", "add", "--email", "Ops@Example.com", "--role", "admin")
		if !strings.Contains(out, "ops@example.com") {
			t.Errorf("user add said %q", out)
		}
		admin := strings.TrimSpace(mustCLI(t, env, "", "token", "create", "--admin", "--name", "e2e"))
		if !strings.HasPrefix(admin, "lk_") {
			t.Fatalf("token create printed %q", admin)
		}

		srv := startServer(t, env)
		call(t, "POST", srv.url+"/api/v1/admin/users", admin, map[string]string{"email": "pat@example.com", "password": "another long password"}, 201)
		list := call(t, "GET", srv.url+"/api/v1/admin/users?email=ops@example.com", admin, nil, 200)
		if n := len(list["users"].([]any)); n != 1 {
			t.Fatalf("got %d users, want 1", n)
		}
		login := call(t, "POST", srv.url+"/api/v1/login", "", map[string]string{"email": "ops@example.com", "password": "a long enough password"}, 200)
		tok := login["session_token"].(string)
		if s := call(t, "GET", srv.url+"/api/v1/session", tok, nil, 200); s["email"] != "ops@example.com" || s["aal"] != float64(2) {
			t.Fatalf("session %v", s)
		}

		// Enrol an authenticator app.
		call(t, "POST", srv.url+"/api/v1/me/reauth", tok, map[string]string{"method": "password", "password": "a long enough password"}, 200)
		enr := call(t, "POST", srv.url+"/api/v1/me/totp", tok, map[string]any{}, 201)
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr["secret"].(string))
		if err != nil {
			t.Fatal(err)
		}
		call(t, "POST", srv.url+"/api/v1/me/totp/confirm", tok, map[string]string{"code": totp.CodeAt(secret, totp.Step(time.Now()))}, 200)

		// Rotate: k2 first (new secrets), k1 still opens; the server keeps running.
		k2 := strings.TrimSpace(mustCLI(t, nil, "", "keys", "generate", "--id", "k2"))
		out = mustCLI(t, map[string]string{"LATCHKEY_DB": dsn, "LATCHKEY_SECRET_KEYS": k2 + "," + k1}, "", "keys", "rotate")
		if !strings.Contains(out, "re-sealed 1 secrets under key k2") {
			t.Errorf("keys rotate said %q", out)
		}
		srv.stop()

		// Restart with k2 alone: the app still works.
		srv = startServer(t, map[string]string{"LATCHKEY_DB": dsn, "LATCHKEY_SECRET_KEYS": k2})
		aal1 := call(t, "POST", srv.url+"/api/v1/login", "", map[string]string{"email": "ops@example.com", "password": "a long enough password"}, 200)
		if aal1["aal"] != float64(1) {
			t.Fatalf("got %v, want aal 1 after enrolling an app", aal1)
		}
		// The confirming step was consumed; use the next one.
		code := totp.CodeAt(secret, totp.Step(time.Now())+1)
		done := call(t, "POST", srv.url+"/api/v1/login/mfa", aal1["session_token"].(string), map[string]string{"method": "totp", "code": code}, 200)
		if done["aal"] != float64(2) {
			t.Fatalf("got %v, want aal 2", done)
		}
	})
}

// keyStatus runs "keys status" and returns, by key id, its keyring column
// and its four counts (TOTP, TOTP pending, recovery codes, SMS codes).
func keyStatus(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(mustCLI(t, env, "", "keys", "status")), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "KEY ID") {
		t.Fatalf("keys status printed no header: %q", lines)
	}
	got := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 6 {
			t.Fatalf("keys status line %q has too few columns", l)
		}
		got[f[0]] = strings.Join(f[1:6], " ")
	}
	return got
}

// TestKeysStatus follows a recovery code through a key rotation on both
// databases: made under k1, still under k1 after "keys rotate" (which moves
// only the app's secret), refused with 401 (not 500) by a server that no
// longer has k1, and under k2 once regenerated, when k1 can go.
func TestKeysStatus(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		k1 := strings.TrimSpace(mustCLI(t, nil, "", "keys", "generate", "--id", "k1"))
		k2 := strings.TrimSpace(mustCLI(t, nil, "", "keys", "generate", "--id", "k2"))
		keys := func(spec string) map[string]string {
			return map[string]string{"LATCHKEY_DB": dsn, "LATCHKEY_SECRET_KEYS": spec}
		}
		check := func(env map[string]string, want map[string]string) {
			t.Helper()
			if diff := cmp.Diff(want, keyStatus(t, env)); diff != "" {
				t.Errorf("keys status (-want +got):\n%s", diff)
			}
		}
		mustCLI(t, keys(k1), "a long enough password\n", "user", "add", "--email", "kay@example.com")
		check(keys(k1), map[string]string{"k1": "primary 0 0 0 0"})

		// Enrol an app: its secret and the recovery code are under k1.
		srv := startServer(t, keys(k1))
		tok := call(t, "POST", srv.url+"/api/v1/login", "", map[string]string{"email": "kay@example.com", "password": "a long enough password"}, 200)["session_token"].(string)
		call(t, "POST", srv.url+"/api/v1/me/reauth", tok, map[string]string{"method": "password", "password": "a long enough password"}, 200)
		enr := call(t, "POST", srv.url+"/api/v1/me/totp", tok, map[string]any{}, 201)
		check(keys(k1), map[string]string{"k1": "primary 0 1 0 0"})
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr["secret"].(string))
		if err != nil {
			t.Fatal(err)
		}
		rc := call(t, "POST", srv.url+"/api/v1/me/totp/confirm", tok, map[string]string{"code": totp.CodeAt(secret, totp.Step(time.Now()))}, 200)["recovery_code"].(string)
		srv.stop()
		check(keys(k1), map[string]string{"k1": "primary 1 0 1 0"})

		// Rotate: the app moves to k2, the recovery code stays under k1.
		mustCLI(t, keys(k2+","+k1), "", "keys", "rotate")
		check(keys(k2+","+k1), map[string]string{"k2": "primary 1 0 0 0", "k1": "listed 0 0 1 0"})

		// k1 removed too early: the code is refused as a wrong code.
		srv = startServer(t, keys(k2))
		aal1 := call(t, "POST", srv.url+"/api/v1/login", "", map[string]string{"email": "kay@example.com", "password": "a long enough password"}, 200)["session_token"].(string)
		if e := call(t, "POST", srv.url+"/api/v1/login/mfa", aal1, map[string]string{"method": "recovery_code", "code": rc}, 401); e["error"].(map[string]any)["code"] != "invalid_code" {
			t.Errorf("got %v, want invalid_code", e)
		}
		check(keys(k2), map[string]string{"k2": "primary 1 0 0 0", "k1": "missing 0 0 1 0"})

		// Regenerated after a step-up with the app (its confirming step was
		// consumed; the next one is accepted), the code is under k2, and
		// nothing depends on k1 any more.
		call(t, "POST", srv.url+"/api/v1/me/reauth", tok, map[string]string{"method": "totp", "code": totp.CodeAt(secret, totp.Step(time.Now())+1)}, 200)
		call(t, "POST", srv.url+"/api/v1/me/recovery-code", tok, map[string]any{}, 201)
		srv.stop()
		check(keys(k2), map[string]string{"k2": "primary 1 0 1 0"})
		check(keys(k2+","+k1), map[string]string{"k2": "primary 1 0 1 0", "k1": "listed 0 0 0 0"})
		if out := mustCLI(t, keys(k2+","+k1), "", "keys", "status"); !strings.Contains(out, "can be removed") {
			t.Errorf("keys status does not say k1 can be removed:\n%s", out)
		}
	})
}

func TestRunHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			out, err := cli(t, nil, "", append(strings.Fields(c.name), "--help")...)
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if !strings.Contains(out, "Usage: latchkey "+c.name) {
				t.Errorf("help of %q is %q", c.name, out)
			}
		})
	}
	out, err := cli(t, nil, "", "--help")
	if err != nil || !strings.Contains(out, "user reset-mfa") {
		t.Errorf("latchkey --help: %v %q", err, out)
	}
}

func TestRunErrors(t *testing.T) {
	testKey := strings.TrimSpace(mustCLI(t, nil, "", "keys", "generate", "--id", "t1"))
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"NoCommand", nil, nil, ""},
		{"UnknownCommand", nil, []string{"frobnicate"}, "unknown command"},
		{"UserAddNoEmail", map[string]string{"LATCHKEY_DB": db}, []string{"user", "add"}, "--email is required"},
		{"UserAddNoPassword", map[string]string{"LATCHKEY_DB": db}, []string{"user", "add", "--email", "a@example.com"}, "no password"},
		{"ServeWithoutKey", map[string]string{"LATCHKEY_DB": db}, []string{"serve"}, "--secret-keys"},
		{"BadKey", map[string]string{"LATCHKEY_DB": db, "LATCHKEY_SECRET_KEYS": "k1:short"}, []string{"serve"}, "--secret-keys"},
		{"OutboxOutsideDev", map[string]string{"LATCHKEY_DB": db, "LATCHKEY_SECRET_KEYS": testKey}, []string{"serve", "--sms-provider", "outbox"}, "only with --dev"},
		{"UnknownSMSProvider", map[string]string{"LATCHKEY_DB": db, "LATCHKEY_SECRET_KEYS": testKey}, []string{"serve", "--sms-provider", "carrier-pigeon"}, "unknown provider"},
		{"TwilioWithoutCredentials", map[string]string{"LATCHKEY_DB": db, "LATCHKEY_SECRET_KEYS": testKey}, []string{"serve", "--sms-provider", "twilio"}, "--twilio-account-sid"},
		{"BadMetricsFrom", map[string]string{"LATCHKEY_DB": db, "LATCHKEY_SECRET_KEYS": testKey}, []string{"serve", "--metrics-from", "10.0.0.0/8,10.0.0.1"}, `--metrics-from: "10.0.0.1" is not a CIDR`},
		{"BadMetricsFromEnv", map[string]string{"LATCHKEY_DB": db, "LATCHKEY_SECRET_KEYS": testKey, "LATCHKEY_METRICS_FROM": "any"}, []string{"serve"}, `--metrics-from: "any" is not a CIDR`},
		{"TokenNotAdmin", map[string]string{"LATCHKEY_DB": db}, []string{"token", "create", "--name", "x"}, "--admin"},
		{"ResetUnknownUser", map[string]string{"LATCHKEY_DB": db}, []string{"user", "reset-mfa", "--email", "nobody@example.com"}, "No user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := cli(t, tc.env, "", tc.args...)
			if err == nil {
				t.Fatalf("got nil error, want one (output %q)", out)
			}
			if msg := out + err.Error(); !strings.Contains(msg, tc.want) {
				t.Errorf("got %q, want it to mention %q", msg, tc.want)
			}
		})
	}
}

func TestRunDev(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"latchkey", "serve", "--dev", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	rd := bufio.NewReader(pr)
	demo, _ := rd.ReadString('\n')
	listen, _ := rd.ReadString('\n')
	go io.Copy(io.Discard, pr)
	fields := strings.Fields(demo)
	if len(fields) < 2 || !strings.Contains(demo, "demo account demo@latchkey.test password ") {
		cancel()
		t.Fatalf("no demo account line: %q (%v)", demo, errors.Join(<-done))
	}
	pass := fields[len(fields)-1]
	_, url, _ := strings.Cut(strings.TrimSpace(listen), "listening on ")
	r := call(t, "POST", url+"/api/v1/login", "", map[string]string{"email": "demo@latchkey.test", "password": pass}, 200)
	if r["aal"] != float64(2) {
		t.Errorf("demo login %v", r)
	}
	// Dev mode: the cookie works over plain HTTP, and the outbox page exists.
	resp, err := http.Get(url + "/dev/outbox")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/dev/outbox: %v %v", err, resp)
	}
	resp.Body.Close()
	if m := call(t, "GET", url+"/api/v1/dev/outbox", "", nil, 200); len(m["messages"].([]any)) != 0 {
		t.Errorf("outbox %v, want empty", m)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v, want nil on shutdown", err)
	}
	if _, err := os.Stat(filepath.Join(dir, devDB+".keys")); err != nil {
		t.Errorf("dev key file: %v", err)
	}
}

func TestTuneGC(t *testing.T) {
	prevPercent, prevLimit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(prevPercent)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
	tests := []struct {
		name        string
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		// Two hashes of 19 MiB at once: 64 + 2*2*19 MiB.
		{"Defaults", nil, serverGCPercent, (64 + 76) << 20},
		// What the operator set in the environment stays (the runtime read
		// it at start; here it is whatever the test process runs with).
		{"EnvironmentWins", map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}, 77, 123 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(77)
			debug.SetMemoryLimit(123 << 20)
			percent, limit := tuneGC(func(k string) string { return tc.env[k] }, 2, 19456)
			if percent != tc.wantPercent || limit != tc.wantLimit {
				t.Errorf("got GOGC %d, limit %d MiB; want %d, %d MiB", percent, limit>>20, tc.wantPercent, tc.wantLimit>>20)
			}
			if got := debug.SetGCPercent(-1); got != tc.wantPercent {
				t.Errorf("runtime GOGC is %d, want %d", got, tc.wantPercent)
			}
			debug.SetGCPercent(77)
		})
	}
}
