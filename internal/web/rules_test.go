package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/secretbox"
	"github.com/latchkey/latchkey/internal/store"
)

// The tests in this file each prove one rule of docs/security.md ("Rules and
// the tests that prove them"): each fails when its rule is taken out of the
// code.

// readBarrier is a store whose RecoveryCode and LiveSMSCode, once armed for
// n callers, hold every caller after its read until n callers have read. n
// concurrent uses of one code then all compare against the same stored hash
// before any of them can consume it: the interleaving that a plain burst
// rarely produces, and the one only the compare-and-swap (or the
// conditional UPDATE) stops. Embedding the database keeps every other
// method, SMSStore included.
type readBarrier struct {
	*store.DB
	timeout time.Duration // how long a held reader waits at most

	mu      sync.Mutex
	want    int           // callers to hold; 0 lets every caller through
	arrived int           // callers held since arm
	all     chan struct{} // closed when want callers have read
}

// arm makes the next n readers wait for each other.
func (b *readBarrier) arm(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.want, b.arrived, b.all = n, 0, make(chan struct{})
}

// disarm lets every reader through again and returns how many were held.
func (b *readBarrier) disarm() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.want = 0
	return b.arrived
}

func (b *readBarrier) RecoveryCode(ctx context.Context, userID int64) (*auth.RecoveryCode, error) {
	rc, err := b.DB.RecoveryCode(ctx, userID)
	b.hold(ctx)
	return rc, err
}

func (b *readBarrier) LiveSMSCode(ctx context.Context, userID, sessionID int64, purpose string, now time.Time, maxAttempts int) (*auth.SMSCode, error) {
	c, err := b.DB.LiveSMSCode(ctx, userID, sessionID, purpose, now, maxAttempts)
	b.hold(ctx)
	return c, err
}

// hold makes a reader that has read wait, while armed, until want readers
// have.
func (b *readBarrier) hold(ctx context.Context) {
	b.mu.Lock()
	if b.want == 0 {
		b.mu.Unlock()
		return
	}
	b.arrived++
	all := b.all
	if b.arrived == b.want {
		close(all)
	}
	b.mu.Unlock()
	// Bounded: if fewer than n readers ever come, the held ones go on after
	// the timeout and the test reports the shortfall instead of hanging.
	select {
	case <-all:
	case <-time.After(b.timeout):
	case <-ctx.Done():
	}
}

// TestRecoveryCodeSingleUseInterleaved: n sessions present one recovery code
// and every one of them reads the stored hash before any swaps it; the
// compare-and-swap lets exactly one in (requirement D 28). On both
// databases: on PostgreSQL the n swaps really do run at once.
func TestRecoveryCodeSingleUseInterleaved(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		var barrier *readBarrier
		h := newHarness(t, dsn, withStore(func(db *store.DB) auth.Store {
			barrier = &readBarrier{DB: db, timeout: 20 * time.Second}
			return barrier
		}))
		_, rc, _ := h.totpUser(t, "olga@example.com")
		// Five: below the 10 failures that lock, so every loser answers 401.
		const n = 5
		reqs := make([]req, n)
		for i := range reqs {
			reqs[i] = req{method: "POST", path: "/api/v1/login/mfa", token: h.loginAAL1(t, "olga@example.com"),
				body: map[string]string{"method": "recovery_code", "code": rc}}
		}
		barrier.arm(n)
		rs := h.burst(reqs)
		if held := barrier.disarm(); held != n {
			t.Fatalf("%d of %d requests read the recovery code at the barrier, want all: the interleaving was not forced", held, n)
		}
		if got := countStatuses(t, rs); got["200"] != 1 || got["401 invalid_code"] != n-1 {
			t.Fatalf("got %v, want exactly one 200 and %d 401 invalid_code", got, n-1)
		}
		var fresh string
		for _, r := range rs {
			if r.status == 200 {
				fresh = r.str(t, "new_recovery_code")
			}
		}
		h.mfa(h.loginAAL1(t, "olga@example.com"), "recovery_code", rc).want(t, 401, "invalid_code")
		h.mfa(h.loginAAL1(t, "olga@example.com"), "recovery_code", fresh).want(t, 200)
	})
}

// dbCell is one value of one row of one table.
type dbCell struct {
	table, column string
	value         any
}

// openSQL opens the test database directly, beside the server's store.
func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, source := "sqlite", dsn+"?_pragma=busy_timeout(5000)"
	if strings.HasPrefix(dsn, "postgres://") {
		driver, source = "pgx", dsn
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dumpTables returns every value of every table of the database, read
// through SQL.
func dumpTables(t *testing.T, dsn string) []dbCell {
	t.Helper()
	db := openSQL(t, dsn)
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if strings.HasPrefix(dsn, "postgres://") {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`
	}
	rows, err := db.Query(list)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	var cells []dbCell
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = bytes.Clone(b)
				}
				cells = append(cells, dbCell{table, cols[i], v})
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return cells
}

// wholeNumber matches code as a whole number: not inside a longer run of
// digits, such as a phone number, a time or an id.
func wholeNumber(code string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^0-9])` + code + `([^0-9]|$)`)
}

// findCodes reports every code found in a value: as a whole number in text
// or bytes, or as an integer equal to it. Integers below 1000 are ids and
// counters of the run, so a code of that value is only looked for as text.
func findCodes(t *testing.T, where string, v any, codes []string) {
	t.Helper()
	for _, c := range codes {
		n, _ := strconv.ParseInt(c, 10, 64)
		var found bool
		switch v := v.(type) {
		case []byte:
			found = wholeNumber(c).Match(v)
		case string:
			found = wholeNumber(c).MatchString(v)
		case int64:
			found = n >= 1000 && v == n
		}
		if found {
			t.Errorf("%s holds the SMS code %s", where, c)
		}
	}
}

// TestSMSCodesAtRest: SMS codes sent for every purpose (sign-in, step-up,
// enrolment; used, wrong-tried and still live) are stored only as keyed
// hashes: no code is in the SQLite file or its write-ahead log, nor in any
// value of any table on either database.
func TestSMSCodesAtRest(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		// Enrolment: a wrong try, then the code.
		h.addUser("pia@example.com", pw, "")
		tok := h.loginAAL2(t, "pia@example.com")
		h.reauthPassword(t, tok)
		h.startPhone(tok, numberA).want(t, 202)
		c := h.sms.lastCode(t, numberA)
		h.confirmPhone(tok, otherCode(c)).want(t, 401, "invalid_code")
		h.confirmPhone(tok, c).want(t, 200)
		// Sign-in: a wrong try, then the code; and a code left unused.
		aal1 := h.loginAAL1(t, "pia@example.com")
		c = h.requestCode(t, pathLoginSMS, aal1, numberA)
		h.mfa(aal1, "sms", otherCode(c)).want(t, 401, "invalid_code")
		full := h.mfa(aal1, "sms", c).want(t, 200).str(t, "session_token")
		h.requestCode(t, pathLoginSMS, h.loginAAL1(t, "pia@example.com"), numberA)
		// Step-up: a code used, and one left unused in another session.
		h.requestCode(t, pathReauthSMS, full, numberA)
		h.smsStepUp(t, tok, numberA)
		// A change of phone left pending: its enrolment code stays live.
		h.clock.Advance(smsCooldown)
		h.startPhone(tok, numberB).want(t, 202)

		codes := codesIn(h.sms.messages())
		if len(codes) != 6 {
			t.Fatalf("got %d codes sent, want the 6 of the run", len(codes))
		}

		if !strings.HasPrefix(dsn, "postgres://") {
			// The file as an attacker with a copy would hold it: the main
			// file and the write-ahead log as they stand, then the main file
			// after a checkpoint.
			scanFiles(t, dsn, codes)
			h.db.Close()
			scanFiles(t, dsn, codes)
		}
		purposes := map[string]bool{}
		cells := dumpTables(t, dsn)
		for _, cell := range cells {
			if cell.table == "sms_codes" && cell.column == "purpose" {
				purposes[cell.value.(string)] = true
			}
			findCodes(t, "table "+cell.table+" column "+cell.column, cell.value, codes)
		}
		if !purposes[auth.PurposeLogin] || !purposes[auth.PurposeReauth] || !purposes[auth.PurposeEnroll] {
			t.Fatalf("sms_codes holds codes for %v, want login, reauth and enroll: the scan would prove nothing", purposes)
		}
	})
}

// scanFiles looks for the codes in the SQLite file and its -wal and
// -journal, byte by byte.
func scanFiles(t *testing.T, file string, codes []string) {
	t.Helper()
	found := 0
	for _, suffix := range []string{"", "-wal", "-journal"} {
		raw, err := os.ReadFile(file + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(numberA)) {
			found++
		}
		findCodes(t, "database file "+filepath.Base(file)+suffix, raw, codes)
	}
	if found == 0 {
		t.Fatalf("no file at %s holds the user's phone number: the scan would prove nothing", file)
	}
}

// TestConfirmWrongCodesLock: wrong codes confirming a new app or a new phone
// count toward the per-account lockout: after 10, even the right code
// answers 429 locked, and so does the next sign-in challenge (requirement
// E 31).
func TestConfirmWrongCodesLock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		// start begins the enrolment in the stepped-up session of tok and
		// returns the right code and a wrong one.
		start func(t *testing.T, h *harness, tok string) (right, wrong string)
	}{
		{"App", "/api/v1/me/totp/confirm", func(t *testing.T, h *harness, tok string) (string, string) {
			next := h.startTOTP(t, tok).secret
			return totpCode(t, next, h.clock.Now()), wrongCode(t, next, h.clock.Now())
		}},
		{"Phone", "/api/v1/me/phone/confirm", func(t *testing.T, h *harness, tok string) (string, string) {
			h.startPhone(tok, numberA).want(t, 202)
			c := h.sms.lastCode(t, numberA)
			return c, otherCode(c)
		}},
	}
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		// An SMS code is void after 5 wrong tries; it must outlive 10 here
		// so that the 11th try is the right code.
		h := newHarness(t, dsn, withConfig(func(c *auth.Config) { c.SMSMaxAttempts = 20 }))
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email := strings.ToLower(tc.name) + "-lock@example.com"
				secret, _, _ := h.totpUser(t, email)
				tok := h.signIn(t, email, secret)
				h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
				right, wrong := tc.start(t, h, tok)
				for i := range 10 {
					r := h.do(req{method: "POST", path: tc.path, token: tok, body: map[string]string{"code": wrong}})
					if r.status != 401 || r.errorCode(t) != "invalid_code" {
						t.Fatalf("wrong code %d: got %d %s, want 401 invalid_code", i+1, r.status, r.body)
					}
				}
				h.do(req{method: "POST", path: tc.path, token: tok, body: map[string]string{"code": right}}).want(t, 429, "locked")
				h.mfa(h.loginAAL1(t, email), "totp", h.freshCode(t, secret)).want(t, 429, "locked")
			})
		}
	})
}

// TestTOTPSecretBoundToRow: a sealed TOTP secret copied into another row,
// another user's or another factor's of the same user, does not open there,
// so the code of the copied app does not sign in.
func TestTOTPSecretBoundToRow(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		db := openSQL(t, dsn)
		factorID := func(t *testing.T, email, state string) int64 {
			t.Helper()
			var id int64
			err := db.QueryRow(`SELECT f.id FROM totp_factors f JOIN users u ON u.id = f.user_id WHERE u.email = $1 AND f.state = $2`, email, state).Scan(&id)
			if err != nil {
				t.Fatalf("factor of %s (%s): %v", email, state, err)
			}
			return id
		}
		tests := []struct {
			name string
			// copied sets up the users and returns whose factor row is
			// overwritten (the victim, whose sign-in is tried), the rows
			// copied from and to, and the secret of the copied ciphertext.
			copied func(t *testing.T) (email string, from, to int64, secret string)
		}{
			{"AnotherUser", func(t *testing.T) (string, int64, int64, string) {
				secretA, _, _ := h.totpUser(t, "ursula@example.com")
				h.totpUser(t, "victor@example.com")
				return "victor@example.com", factorID(t, "ursula@example.com", auth.FactorActive), factorID(t, "victor@example.com", auth.FactorActive), secretA
			}},
			{"AnotherFactor", func(t *testing.T) (string, int64, int64, string) {
				secret, _, _ := h.totpUser(t, "wanda@example.com")
				tok := h.signIn(t, "wanda@example.com", secret)
				h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
				pending := h.startTOTP(t, tok).secret
				return "wanda@example.com", factorID(t, "wanda@example.com", auth.FactorPending), factorID(t, "wanda@example.com", auth.FactorActive), pending
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email, from, to, secret := tc.copied(t)
				_, err := db.Exec(`UPDATE totp_factors SET sealed_secret = (SELECT sealed_secret FROM totp_factors WHERE id = $1),
					key_id = (SELECT key_id FROM totp_factors WHERE id = $1) WHERE id = $2`, from, to)
				if err != nil {
					t.Fatalf("copy the sealed secret: %v", err)
				}
				tok := h.loginAAL1(t, email)
				if r := h.mfa(tok, "totp", h.freshCode(t, secret)); r.status == 200 {
					t.Fatalf("the code of the copied secret signed in: %s", r.body)
				}
				if s := h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200).json(t); s["aal"] != float64(1) {
					t.Errorf("got session %v, want it still at aal 1", s)
				}
			})
		}
	})
}

// TestLoginFailedEvent: a wrong password for an account records a
// login_failed event with the client's IP and user agent, and without the
// password, in the account's history.
func TestLoginFailedEvent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		h := newHarness(t, dsn)
		h.addUser("xena@example.com", pw, "")
		const wrongPW = "not the password of xena"
		h.do(req{method: "POST", path: "/api/v1/login",
			header: map[string]string{"X-Forwarded-For": "192.0.2.44", "User-Agent": "rules-test/1.0"},
			body:   map[string]string{"email": "xena@example.com", "password": wrongPW}}).want(t, 401, "invalid_credentials")
		tok := h.loginAAL2(t, "xena@example.com")
		failed := eventsOf(h.events(t, tok), auth.EventLoginFailed)
		if len(failed) != 1 {
			t.Fatalf("got %d login_failed events, want 1", len(failed))
		}
		e := failed[0]
		if e["ip"] != "192.0.2.44" || e["user_agent"] != "rules-test/1.0" {
			t.Errorf("got ip %v and user_agent %v, want 192.0.2.44 and rules-test/1.0 (the failed request's)", e["ip"], e["user_agent"])
		}
		for k, v := range e {
			if s, ok := v.(string); ok && (strings.Contains(s, wrongPW) || strings.Contains(s, pw)) {
				t.Errorf("login_failed event field %s holds a password: %q", k, s)
			}
		}
	})
}

// TestSMSCodeSingleUseInterleaved: n step-ups present one SMS code in its
// session, and every one of them reads the live code before any consumes
// it; the conditional UPDATE that consumes it lets exactly one in. A
// step-up, not a sign-in: a sign-in would also meet the token's
// compare-and-swap, which hides a code accepted twice. On both databases.
func TestSMSCodeSingleUseInterleaved(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		var barrier *readBarrier
		h := newHarness(t, dsn, withStore(func(db *store.DB) auth.Store {
			barrier = &readBarrier{DB: db, timeout: 20 * time.Second}
			return barrier
		}))
		_, tok := h.phoneUser(t, "nia@example.com", numberA)
		code := h.requestCode(t, pathReauthSMS, tok, numberA)
		// Three: below the 5 tries that void a code and the 10 failures
		// that lock, so every loser answers 401.
		const n = 3
		reqs := make([]req, n)
		for i := range reqs {
			reqs[i] = req{method: "POST", path: "/api/v1/me/reauth", token: tok,
				body: map[string]string{"method": "sms", "code": code}}
		}
		barrier.arm(n)
		rs := h.burst(reqs)
		if held := barrier.disarm(); held != n {
			t.Fatalf("%d of %d requests read the SMS code at the barrier, want all: the interleaving was not forced", held, n)
		}
		if got := countStatuses(t, rs); got["200"] != 1 || got["401 invalid_code"] != n-1 {
			t.Fatalf("got %v, want exactly one 200 and %d 401 invalid_code", got, n-1)
		}
		h.reauth(tok, "sms", code).want(t, 401, "invalid_code")
	})
}

// TestCodeHashesNeedServerKey: recovery and SMS codes are stored as MACs
// under the server's key, so the database alone cannot check them. A second
// server on the same database, holding another key under the same key id
// (what a copy of the database comes without), refuses the codes the first
// server accepts.
func TestCodeHashesNeedServerKey(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		a := newHarness(t, dsn)
		k, err := secretbox.GenerateKey(rand.Reader, "test1")
		if err != nil {
			t.Fatal(err)
		}
		other, err := secretbox.NewKeyring([]secretbox.Key{k})
		if err != nil {
			t.Fatal(err)
		}
		b := newHarness(t, dsn, withKeyring(other))
		const email = "kay@example.com"
		rc, _ := a.phoneUser(t, email, numberA)
		s := a.loginAAL1(t, email)
		code := a.requestCode(t, pathLoginSMS, s, numberA)
		b.clock.Set(a.clock.Now())

		b.mfa(s, "sms", code).want(t, 401, "invalid_code")
		b.mfa(b.loginAAL1(t, email), "recovery_code", rc).want(t, 401, "invalid_code")
		// The codes themselves were good: the server with the key takes them.
		a.mfa(s, "sms", code).want(t, 200)
		a.mfa(a.loginAAL1(t, email), "recovery_code", rc).want(t, 200)
	})
}

// TestPasswordThrottlePerIP: failed passwords from one IP are throttled over
// all accounts. Thirty failures spread so thin that no account comes near
// its own limits (one each) make that IP wait, for any account and even the
// right password, while another IP signs in. SQLite only: the throttles
// keep their counts in memory, not in the database.
func TestPasswordThrottlePerIP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	h.addUser("yara@example.com", pw, "")
	attempt := func(ip, email, password string) *response {
		t.Helper()
		return h.do(req{method: "POST", path: "/api/v1/login", header: map[string]string{"X-Forwarded-For": ip},
			body: map[string]string{"email": email, "password": password}})
	}
	for i := range 30 {
		attempt("203.0.113.50", fmt.Sprintf("user%d@example.com", i), "not the password").want(t, 401, "invalid_credentials")
	}
	r := attempt("203.0.113.50", "yara@example.com", pw).want(t, 429, "rate_limited")
	if ra := retryAfter(r); ra < 1 {
		t.Errorf("got Retry-After %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}
	attempt("203.0.113.50", "user0@example.com", "not the password").want(t, 429, "rate_limited")
	attempt("203.0.113.51", "yara@example.com", pw).want(t, 200)
}

// busyHasher answers password.ErrBusy, as a Hasher whose queue is full
// does, while busy is set.
type busyHasher struct {
	auth.PasswordHasher
	busy atomic.Bool
}

func (b *busyHasher) Hash(ctx context.Context, plain string) (string, error) {
	if b.busy.Load() {
		return "", password.ErrBusy
	}
	return b.PasswordHasher.Hash(ctx, plain)
}

func (b *busyHasher) Verify(ctx context.Context, plain, phc string) (bool, bool, error) {
	if b.busy.Load() {
		return false, false, password.ErrBusy
	}
	return b.PasswordHasher.Verify(ctx, plain, phc)
}

func (b *busyHasher) VerifyDummy(ctx context.Context, plain string) error {
	if b.busy.Load() {
		return password.ErrBusy
	}
	return b.PasswordHasher.VerifyDummy(ctx, plain)
}

// TestHashingBusy: when the hashing queue is full (the Hasher's ErrBusy,
// its answer instead of an unbounded queue) a sign-in, for a known or an
// unknown email, and a password step-up answer 429 rate_limited with
// Retry-After, never 500; and no such answer counts as a failed password.
func TestHashingBusy(t *testing.T) {
	t.Parallel()
	hasher := &busyHasher{}
	h := newHarness(t, sqliteDSN(t), withHasher(func(inner auth.PasswordHasher) auth.PasswordHasher {
		hasher.PasswordHasher = inner
		return hasher
	}))
	h.addUser("zoe@example.com", pw, "")
	tok := h.loginAAL2(t, "zoe@example.com")

	hasher.busy.Store(true)
	busy := []req{
		{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "zoe@example.com", "password": pw}},
		{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "nobody@example.com", "password": pw}},
		{method: "POST", path: "/api/v1/me/reauth", token: tok, body: map[string]string{"method": "password", "password": pw}},
	}
	// More rounds than the 10 failures per account and IP that throttle.
	for range 12 {
		for _, r := range busy {
			got := h.do(r).want(t, 429, "rate_limited")
			if ra := retryAfter(got); ra < 1 {
				t.Fatalf("%s: got Retry-After %q, want a positive number of seconds", r.path, got.header.Get("Retry-After"))
			}
		}
	}
	hasher.busy.Store(false)
	h.login("zoe@example.com", pw)
	h.reauthPassword(t, tok)
}
