package web_test

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// secret is one value that must never be logged, recorded or stored in
// the clear.
type leakSecret struct {
	kind  string // what it is, for messages
	value string
}

// leakScan collects the secrets a scripted run handled and the error
// bodies it received.
type leakScan struct {
	secrets   []leakSecret
	codes     []string // 6-digit codes, searched as whole numbers
	keys      [][]byte // raw TOTP keys
	errBodies [][]byte
}

func (s *leakScan) add(kind string, values ...string) {
	for _, v := range values {
		s.secrets = append(s.secrets, leakSecret{kind, v})
	}
}

// findIn reports every secret found in hay (named where).
func (s *leakScan) findIn(t *testing.T, where string, hay []byte) {
	t.Helper()
	for _, sec := range s.secrets {
		if bytes.Contains(hay, []byte(sec.value)) {
			t.Errorf("%s contains a secret (%s)", where, sec.kind)
		}
	}
	for _, c := range s.codes {
		// Codes are short, so only a whole number counts: a timestamp's
		// digits must not pass for one.
		if regexp.MustCompile(`(^|[^0-9])` + c + `([^0-9]|$)`).Match(hay) {
			t.Errorf("%s contains a secret (the code %s)", where, c)
		}
	}
}

// findKeysIn reports raw TOTP keys found in hay.
func (s *leakScan) findKeysIn(t *testing.T, where string, hay []byte) {
	t.Helper()
	for _, k := range s.keys {
		if bytes.Contains(hay, k) {
			t.Errorf("%s contains a secret (a raw TOTP key)", where)
		}
	}
}

// TestNoSecretsLeak runs a scripted session through enrolment, step-ups,
// wrong codes, a lockout, recovery-code sign-in and a password change, then
// looks for every secret it handled in the logs, the events, every error
// body and the database file (requirements A 47, C 18, D 24, G 55, J 68,
// K 73). SQLite only: the file is what an attacker with a copy of the
// database would hold.
func TestNoSecretsLeak(t *testing.T) {
	t.Parallel()
	dsn := sqliteDSN(t)
	h := newHarness(t, dsn)
	s := &leakScan{}
	call := func(r req) *response {
		t.Helper()
		resp := h.do(r)
		if resp.status >= 400 {
			s.errBodies = append(s.errBodies, resp.body)
		}
		return resp
	}
	token := func(r *response) string {
		t.Helper()
		tok := r.str(t, "session_token")
		s.add("session token", tok)
		return tok
	}
	code := func(c string) string {
		s.codes = append(s.codes, c)
		return c
	}
	recovery := func(rc string) string {
		s.add("recovery code", rc, strings.ReplaceAll(rc, "-", ""))
		return rc
	}
	app := func(e enrolment) string {
		key, err := base32NoPad.DecodeString(e.secret)
		if err != nil {
			t.Fatal(err)
		}
		s.add("TOTP secret", e.secret, hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)))
		s.keys = append(s.keys, key)
		return e.secret
	}
	login := func(password string) *response {
		t.Helper()
		return call(req{method: "POST", path: "/api/v1/login", body: map[string]string{"email": "quinn@example.com", "password": password}})
	}
	mfa := func(tok, method, c string) *response {
		t.Helper()
		return call(req{method: "POST", path: "/api/v1/login/mfa", token: tok, body: map[string]string{"method": method, "code": c}})
	}
	reauth := func(tok string, body map[string]string) *response {
		t.Helper()
		return call(req{method: "POST", path: "/api/v1/me/reauth", token: tok, body: body})
	}

	const newPW = "an entirely different passphrase"
	wrongPWs := []string{"Tr0ub4dor&3 guess one", "Tr0ub4dor&3 guess two", "Tr0ub4dor&3 guess three", "shorty7"}
	s.add("password", pw, newPW)
	s.add("wrong password", wrongPWs...)
	s.add("admin token", h.admin)

	h.addUser("quinn@example.com", pw, "")
	login(wrongPWs[0]).want(t, 401)
	tok := token(login(pw).want(t, 200))
	reauth(tok, map[string]string{"method": "password", "password": wrongPWs[1]}).want(t, 401)
	reauth(tok, map[string]string{"method": "password", "password": pw}).want(t, 200)
	app(h.startTOTP(t, tok)) // restarted below: this one is never confirmed
	secret := app(h.startTOTP(t, tok))
	call(req{method: "POST", path: "/api/v1/me/totp/confirm", token: tok,
		body: map[string]string{"code": code(wrongCode(t, secret, h.clock.Now()))}}).want(t, 401)
	recovery(call(req{method: "POST", path: "/api/v1/me/totp/confirm", token: tok,
		body: map[string]string{"code": code(totpCode(t, secret, h.clock.Now()))}}).want(t, 200).str(t, "recovery_code"))

	// Sign in with the app: a wrong code, a malformed one, the right one
	// and a replay of it from another session.
	call(req{method: "POST", path: "/api/v1/logout", token: tok}).want(t, 204)
	aal1 := token(login(pw).want(t, 200))
	h.clock.Advance(totpStep)
	mfa(aal1, "totp", code(wrongCode(t, secret, h.clock.Now()))).want(t, 401)
	mfa(aal1, "totp", "12a456").want(t, 400)
	right := code(totpCode(t, secret, h.clock.Now()))
	full := token(mfa(aal1, "totp", right).want(t, 200))
	mfa(token(login(pw).want(t, 200)), "totp", right).want(t, 401)

	// Step-ups and a new recovery code.
	h.clock.Advance(totpStep)
	reauth(full, map[string]string{"method": "totp", "code": code(wrongCode(t, secret, h.clock.Now()))}).want(t, 401)
	reauth(full, map[string]string{"method": "totp", "code": code(totpCode(t, secret, h.clock.Now()))}).want(t, 200)
	reauth(full, map[string]string{"method": "password", "password": pw}).want(t, 400)
	rc := recovery(call(req{method: "POST", path: "/api/v1/me/recovery-code", token: full, body: map[string]any{}}).want(t, 201).str(t, "recovery_code"))

	// Recovery-code sign-in, after a wrong (but well-formed) code.
	aal1 = token(login(pw).want(t, 200))
	wrongRC := recovery(wrongRecoveryCode(rc))
	mfa(aal1, "recovery_code", wrongRC).want(t, 401)
	r := mfa(aal1, "recovery_code", rc).want(t, 200)
	full = token(r)
	recovery(r.str(t, "new_recovery_code"))

	// Password change (after a step-up), with a wrong current password and
	// a weak new one.
	h.clock.Advance(totpStep)
	reauth(full, map[string]string{"method": "totp", "code": code(totpCode(t, secret, h.clock.Now()))}).want(t, 200)
	call(req{method: "POST", path: "/api/v1/me/password", token: full,
		body: map[string]string{"current_password": wrongPWs[2], "new_password": newPW}}).want(t, 401)
	call(req{method: "POST", path: "/api/v1/me/password", token: full,
		body: map[string]string{"current_password": pw, "new_password": wrongPWs[3]}}).want(t, 400)
	call(req{method: "POST", path: "/api/v1/me/password", token: full,
		body: map[string]string{"current_password": pw, "new_password": newPW}}).want(t, 204)
	login(pw).want(t, 401)
	call(req{method: "POST", path: "/api/v1/login", body: `{"email":"quinn@example.com","password":["` + newPW + `"]}`}).want(t, 400)
	call(req{method: "POST", path: "/api/v1/login", body: `{"email":"quinn@example.com","password":"` + newPW + `"`}).want(t, 400)

	// Lock the second factor and meet the lock.
	aal1 = token(login(newPW).want(t, 200))
	h.clock.Advance(totpStep)
	for range 10 {
		mfa(aal1, "totp", code(wrongCode(t, secret, h.clock.Now()))).want(t, 401)
	}
	mfa(aal1, "totp", code(totpCode(t, secret, h.clock.Now()))).want(t, 429)

	events := h.do(req{method: "GET", path: "/api/v1/me/events", token: full}).want(t, 200).body
	security := h.do(req{method: "GET", path: "/api/v1/me/security", token: full}).want(t, 200).body
	logs := h.logs.String()
	// The scan is only as good as what it looked at.
	if !strings.Contains(logs, "/api/v1/login/mfa") || !bytes.Contains(events, []byte("totp_enrolled")) || len(s.errBodies) < 15 {
		t.Fatalf("the run left too little to scan: %d bytes of logs, events %.100s, %d error bodies", len(logs), events, len(s.errBodies))
	}
	s.findIn(t, "the log", []byte(logs))
	s.findKeysIn(t, "the log", []byte(logs))
	s.findIn(t, "the events", events)
	s.findIn(t, "the security overview", security)
	for i, b := range s.errBodies {
		s.findIn(t, "error body "+strconv.Itoa(i)+" "+string(b), b)
	}

	// The database at rest: every file of it byte by byte (after closing,
	// so the write-ahead log is checkpointed, or read as it stands), then
	// every value of every table.
	h.db.Close()
	found := 0
	for _, suffix := range []string{"", "-wal", "-journal"} {
		raw, err := os.ReadFile(dsn + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		found++
		s.findIn(t, "database file "+filepath.Base(dsn)+suffix, raw)
		s.findKeysIn(t, "database file "+filepath.Base(dsn)+suffix, raw)
	}
	if found == 0 {
		t.Fatalf("no database file at %s", dsn)
	}
	dump := dumpSQLite(t, dsn)
	if !bytes.Contains(dump, []byte("quinn@example.com")) || !bytes.Contains(dump, []byte("totp_enrolled")) {
		t.Fatalf("the dump holds no user data: %.200q", dump)
	}
	s.findIn(t, "the database dump", dump)
	s.findKeysIn(t, "the database dump", dump)
}

// dumpSQLite returns every value of every table of a SQLite file,
// separated by NUL bytes.
func dumpSQLite(t *testing.T, file string) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
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
	var dump bytes.Buffer
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					dump.Write(v)
				case string:
					dump.WriteString(v)
				case int64:
					dump.WriteString(strconv.FormatInt(v, 10))
				}
				dump.WriteByte(0)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dump.Bytes()
}

// TestLogInjection: request data that reaches the log is encoded, so it
// cannot forge log lines or carry terminal escapes (requirement K 74).
// Go's HTTP stack already refuses control characters in header values, so
// the path, which is logged and may carry any percent-encoded byte, is the
// way in.
func TestLogInjection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sqliteDSN(t))
	h.do(req{method: "GET", path: `/x%0d%0a{"level":"ERROR","msg":"forged"}%1b[31m`}).want(t, 404)
	logs := h.logs.String()
	if !strings.Contains(logs, `/x\r\n`) {
		t.Fatalf("the request is not in the log (or not as expected): %s", logs)
	}
	if strings.ContainsAny(logs, "\r\x1b") {
		t.Errorf("the log holds a raw carriage return or escape character: %q", logs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not one JSON object (%v): %q", err, line)
		} else if m["msg"] == "forged" {
			t.Errorf("a request forged a log line: %q", line)
		}
	}
}
