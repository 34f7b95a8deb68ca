package main

import (
	"bufio"
	"bytes"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/totp"
)

// TestKillDuringEnrolment checks the promise of PRODUCT.md "Killed at any
// instant (kill -9): no enrolled factor, recovery code or audit event that
// the user was told about is lost", on both databases.
//
// Each round, users enrol an authenticator app all at once against the real
// binary, and the process is killed with SIGKILL as soon as a random number
// of confirmations have been answered, with others in flight. After a
// restart on the same database, every user who got a 200 still has the app,
// the recovery code from that answer signs in, and the enrolment events are
// listed. Each later round checks the earlier users again, with the recovery
// code the last check showed them.
func TestKillDuringEnrolment(t *testing.T) {
	const (
		rounds = 3
		users  = 30 // per round
	)
	bin := buildLatchkey(t)
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		keys := runBinary(t, bin, "keys", "generate", "--id", "k1")
		admin := runBinary(t, bin, "token", "create", "--admin", "--name", "crash", "--db", dsn)
		c := newTestClient(t)

		p := startProcess(t, bin, dsn, keys)
		var told []*enrolee // every user told so far, all rounds
		for round := 1; round <= rounds; round++ {
			batch := createEnrolees(t, c, p.url, admin, round, users)
			// Kill after the k-th answered confirmation: never the first
			// few nor the last few, so the kill lands inside the burst.
			k := 3 + rand.IntN(users-5)
			inFlight := enrolAndKill(t, c, p, batch, k)

			p = startProcess(t, bin, dsn, keys)
			var fresh []*enrolee
			for _, u := range batch {
				if u.recovery != "" {
					fresh = append(fresh, u)
				}
			}
			t.Logf("round %d: killed after %d confirmations answered (%d in flight); %d of %d users were told",
				round, k, inFlight, len(fresh), users)
			if len(fresh) < k {
				t.Errorf("round %d: %d users told, want at least %d", round, len(fresh), k)
			}
			told = append(told, fresh...)
			forEachUser(t, told, func(u *enrolee) error { return checkSurvived(c, p.url, u) })
			// The others may be enrolled or not; the server must work for them.
			forEachUser(t, batch, func(u *enrolee) error {
				if u.recovery != "" {
					return nil
				}
				_, err := expect(c, "POST", p.url+"/api/v1/login", "", u.credentials(), http.StatusOK)
				return err
			})
			if t.Failed() {
				return
			}
		}
	})
}

// enrolee is one user of the test and what the server told them.
type enrolee struct {
	email, password string
	// recovery is the last recovery code shown to the user; empty until a
	// confirmation of the authenticator app was answered 200.
	recovery string
}

func (u *enrolee) credentials() map[string]string {
	return map[string]string{"email": u.email, "password": u.password}
}

// createEnrolees creates n users through the admin API.
func createEnrolees(t *testing.T, c *http.Client, url, admin string, round, n int) []*enrolee {
	t.Helper()
	batch := make([]*enrolee, n)
	for i := range batch {
		batch[i] = &enrolee{
			email:    fmt.Sprintf("r%d-u%02d@example.com", round, i),
			password: fmt.Sprintf("crash test password %d/%d", round, i),
		}
	}
	forEachUser(t, batch, func(u *enrolee) error {
		_, err := expect(c, "POST", url+"/api/v1/admin/users", admin, u.credentials(), http.StatusCreated)
		return err
	})
	if t.Failed() {
		t.FailNow()
	}
	return batch
}

// enrolAndKill has every user of batch enrol an authenticator app at once
// and kills p with SIGKILL as soon as k confirmations have been answered
// 200. It returns how many confirmations were sent but not yet answered at
// the kill. Failures before the kill fail the test; after it they are
// expected.
func enrolAndKill(t *testing.T, c *http.Client, p *process, batch []*enrolee, k int) int64 {
	t.Helper()
	var (
		killed         atomic.Bool
		sent, answered atomic.Int64
		confirmed      = make(chan struct{}, len(batch))
		wg             sync.WaitGroup
	)
	for _, u := range batch {
		wg.Go(func() {
			err := enrol(c, p.url, u, &sent, &answered)
			if err != nil && !killed.Load() {
				t.Errorf("%s: %v", u.email, err)
			}
			if u.recovery != "" {
				confirmed <- struct{}{}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
wait:
	for range k {
		select {
		case <-confirmed:
		case <-done: // fewer than k answered 200: failures are reported
			break wait
		}
	}
	killed.Store(true)
	inFlight := sent.Load() - answered.Load()
	p.kill()
	<-done
	return inFlight
}

// enrol signs u in, steps up with the password, starts and confirms an
// authenticator app, and sets u.recovery only if the confirmation was
// answered 200.
func enrol(c *http.Client, url string, u *enrolee, sent, answered *atomic.Int64) error {
	login, err := expect(c, "POST", url+"/api/v1/login", "", u.credentials(), http.StatusOK)
	if err != nil {
		return err
	}
	tok := str(login, "session_token")
	reauth := map[string]string{"method": "password", "password": u.password}
	if _, err := expect(c, "POST", url+"/api/v1/me/reauth", tok, reauth, http.StatusOK); err != nil {
		return err
	}
	start, err := expect(c, "POST", url+"/api/v1/me/totp", tok, map[string]any{}, http.StatusCreated)
	if err != nil {
		return err
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(str(start, "secret"))
	if err != nil {
		return fmt.Errorf("decode secret: %w", err)
	}
	code := map[string]string{"code": totp.CodeAt(secret, totp.Step(time.Now()))}
	sent.Add(1)
	status, confirm, err := send(c, "POST", url+"/api/v1/me/totp/confirm", tok, code)
	answered.Add(1)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("confirm: got %d, want 200: %v", status, confirm)
	}
	if u.recovery = str(confirm, "recovery_code"); u.recovery == "" {
		return fmt.Errorf("confirm answered 200 without a recovery code")
	}
	return nil
}

// checkSurvived checks that what u was told before a kill still holds: the
// password step asks for the app, the last recovery code shown signs in, and
// the enrolment events are listed. It keeps the replacement code shown now.
func checkSurvived(c *http.Client, url string, u *enrolee) error {
	login, err := expect(c, "POST", url+"/api/v1/login", "", u.credentials(), http.StatusOK)
	if err != nil {
		return err
	}
	methods, _ := login["methods"].([]any)
	if login["aal"] != float64(1) || !slices.Contains(methods, any("totp")) {
		return fmt.Errorf("login: got aal %v methods %v, want aal 1 with totp: the authenticator app was lost", login["aal"], methods)
	}
	rc := map[string]string{"method": "recovery_code", "code": u.recovery}
	mfa, err := expect(c, "POST", url+"/api/v1/login/mfa", str(login, "session_token"), rc, http.StatusOK)
	if err != nil {
		return fmt.Errorf("the recovery code shown before the kill: %w", err)
	}
	if u.recovery = str(mfa, "new_recovery_code"); u.recovery == "" || mfa["aal"] != float64(2) {
		return fmt.Errorf("recovery code sign-in: got aal %v and no new code, want aal 2 and a new code", mfa["aal"])
	}
	evs, err := expect(c, "GET", url+"/api/v1/me/events", str(mfa, "session_token"), nil, http.StatusOK)
	if err != nil {
		return err
	}
	n := map[string]int{}
	list, _ := evs["events"].([]any)
	for _, e := range list {
		if e, ok := e.(map[string]any); ok {
			n[str(e, "type")]++
		}
	}
	// Every use of a code records one generated with the replacement; the
	// enrolment's own recovery_code_generated is the one more.
	if n["totp_enrolled"] == 0 || n["recovery_code_generated"] <= n["recovery_code_used"] {
		return fmt.Errorf("events: got counts %v, want totp_enrolled and one more recovery_code_generated than recovery_code_used", n)
	}
	return nil
}

// forEachUser runs fn for every user, 16 at a time, and reports each error.
// The bound keeps the password checks within the server's hashing queue (64
// per CPU) even on one CPU, where a 429 would fail the test for nothing.
func forEachUser(t *testing.T, users []*enrolee, fn func(u *enrolee) error) {
	t.Helper()
	var wg sync.WaitGroup
	slots := make(chan struct{}, 16)
	for _, u := range users {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			if err := fn(u); err != nil {
				t.Errorf("%s: %v", u.email, err)
			}
		})
	}
	wg.Wait()
}

// buildLatchkey builds the real binary: the test binary (os.Args[0]) cannot
// serve as a process to kill.
func buildLatchkey(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "latchkey")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBinary runs a one-shot command of bin and returns its standard output,
// trimmed.
func runBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = withoutLatchkeyEnv(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("latchkey %s: %v\n%s", args[0], err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out))
}

// process is "latchkey serve" running as a child process, so that it can be
// killed at any instant.
type process struct {
	url    string
	cmd    *exec.Cmd
	stderr bytes.Buffer // read only after kill
	dead   bool
}

// startProcess starts the server on a random port and waits until it
// answers /healthz. The process is killed when the test ends, if not before.
func startProcess(t *testing.T, bin, dsn, keys string) *process {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dsn, "--secret-keys", keys)}
	p.cmd.Env = withoutLatchkeyEnv(os.Environ())
	p.cmd.Stdout = pw
	p.cmd.Stderr = &p.stderr
	err = p.cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			log := p.stderr.Bytes()
			t.Logf("server log (last 4 KiB):\n%s", log[max(0, len(log)-4096):])
		}
	})

	first := make(chan string, 1)
	go func() {
		rd := bufio.NewReader(pr)
		line, _ := rd.ReadString('\n')
		first <- line
		io.Copy(io.Discard, rd) //nolint:errcheck // drains until the process dies
		pr.Close()
	}()
	select {
	case line := <-first:
		_, p.url, _ = strings.Cut(strings.TrimSpace(line), "listening on ")
		if p.url == "" {
			p.kill()
			t.Fatalf("server did not start: first line %q\n%s", line, p.stderr.Bytes())
		}
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("server did not print its address within 30 s\n%s", p.stderr.Bytes())
	}
	for i := 0; ; i++ {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if i == 100 {
			t.Fatalf("server at %s never became healthy", p.url)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL (not a shutdown: nothing gets to flush) and reaps the
// process. It is idempotent.
func (p *process) kill() {
	if p.dead {
		return
	}
	p.dead = true
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// withoutLatchkeyEnv drops LATCHKEY_* variables, which the server would read
// as settings (LATCHKEY_REDIS_URL, say).
func withoutLatchkeyEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "LATCHKEY_") })
}

// newTestClient returns a client of its own, with room for every user's
// connection, whose idle connections are closed when the test ends.
func newTestClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 128}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// send sends a JSON request and decodes the JSON answer. Unlike call it may
// run in any goroutine: it returns errors instead of failing the test.
func send(c *http.Client, method, url, token string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	m := map[string]any{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w: %s", method, url, err, b)
		}
	}
	return resp.StatusCode, m, nil
}

// expect is send that also wants a given status.
func expect(c *http.Client, method, url, token string, body any, want int) (map[string]any, error) {
	status, m, err := send(c, method, url, token, body)
	if err == nil && status != want {
		err = fmt.Errorf("%s %s: got %d, want %d: %v", method, url, status, want, m["error"])
	}
	return m, err
}

// str returns m[key] if it is a string, else "".
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
