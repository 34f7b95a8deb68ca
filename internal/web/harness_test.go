package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/oapi"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/secretbox"
	"github.com/latchkey/latchkey/internal/sms"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/web"
)

// clock is a settable clock shared by the service and the throttles.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a real Latchkey server on a real database (SQLite or
// PostgreSQL) behind httptest, with a settable clock. Every exchange made
// through do is checked against the OpenAPI document.
type harness struct {
	t       *testing.T
	url     string
	clock   *clock
	svc     *auth.Service
	db      *store.DB
	server  *web.Server
	v       *oapi.Validator
	logs    *syncBuffer
	keyring *secretbox.Keyring
	admin   string // an admin API token
	sms     *smsReceiver
}

// testParams make password hashing cheap in tests; the production
// parameters have their own tests and benchmarks.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// harnessSetup is what a harnessOption may change before the server starts.
type harnessSetup struct {
	cfg     *auth.Config
	web     *web.Options
	gateway *sms.Gateway
	keyring *secretbox.Keyring   // the sealing and MAC keys (instances of one deployment share them)
	reg     *prometheus.Registry // served at /metrics
	// store wraps the database for the service (nil: the database itself).
	store func(*store.DB) auth.Store
}

type harnessOption func(*harnessSetup)

func withRoles(roles ...string) harnessOption {
	return func(s *harnessSetup) { s.cfg.MFARequiredRoles = roles }
}

func withConfig(f func(*auth.Config)) harnessOption {
	return func(s *harnessSetup) { f(s.cfg) }
}

// withStore makes the service use wrap(db) as its store, e.g. a wrapper
// that holds readers at a barrier to force an interleaving. The harness's db
// stays the database itself. A wrapper that embeds *store.DB keeps SMS: the
// service finds its SMSStore with a type assertion.
func withStore(wrap func(*store.DB) auth.Store) harnessOption {
	return func(s *harnessSetup) { s.store = wrap }
}

// withSMSCountries sets the SMS country allow-list.
func withSMSCountries(regions ...string) harnessOption {
	return func(s *harnessSetup) { s.gateway.Countries = regions }
}

// withoutSMS switches the SMS method off.
func withoutSMS() harnessOption {
	return func(s *harnessSetup) { s.gateway = nil }
}

func newHarness(t *testing.T, dsn string, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := store.Open(ctx, dsn, logger)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	k, err := secretbox.GenerateKey(rand.Reader, "test1")
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := secretbox.NewKeyring([]secretbox.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	// Start just after a TOTP step boundary, near the real time, so codes
	// computed by oathtool for the clock's time are realistic.
	clk := &clock{t: time.Now().UTC().Truncate(30 * time.Second).Add(time.Second)}
	cfg := auth.DefaultConfig()
	wopts := web.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	receiver := newSMSReceiver(t)
	setup := harnessSetup{cfg: &cfg, web: &wopts, gateway: &sms.Gateway{
		// A real webhook sender against a fake provider that checks the
		// wire format; the short timeout keeps the "provider hangs" test fast.
		Sender:  &sms.Webhook{URL: receiver.url, Secret: receiver.secret, Client: &http.Client{Timeout: 2 * time.Second}},
		Product: "Latchkey", Host: "login.example.test", DefaultRegion: "US", Rand: rand.Reader,
	}, keyring: keyring, reg: prometheus.NewRegistry()}
	for _, o := range opts {
		o(&setup)
	}
	keyring = setup.keyring
	limiter := ratelimit.NewMemory(clk.Now)
	var st auth.Store = db
	if setup.store != nil {
		st = setup.store(db)
	}
	deps := auth.Deps{
		Store:            st,
		Hasher:           password.NewHasher(testParams, 4, 0, rand.Reader),
		Sealer:           keyring,
		Throttles:        ratelimit.PasswordThrottles(limiter),
		IsBusy:           func(err error) bool { return err == password.ErrBusy },
		ValidatePassword: password.Validate,
		Now:              clk.Now,
		Logger:           logger,
	}
	if setup.gateway != nil {
		deps.SMS = setup.gateway
	}
	svc := auth.NewService(cfg, deps)
	spec, err := api.JSON(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wopts.OpenAPIJSON, wopts.OpenAPIYAML = spec, api.OpenAPIYAML
	wopts.Ready = db.Ping
	reg := setup.reg
	wopts.Metrics = reg
	wopts.MetricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	srv, err := web.NewServer(logger, wopts, svc)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	admin, err := svc.CreateAPIToken(ctx, "test", true)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, url: ts.URL, clock: clk, svc: svc, db: db, server: srv, v: oapi.NewValidator(t), logs: logs, keyring: keyring, admin: admin, sms: receiver}
}

// response is one answer from the server.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a map.
func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return m
}

// errorCode returns error.code of an error answer.
func (r *response) errorCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// str returns a string field of a JSON answer.
func (r *response) str(t *testing.T, key string) string {
	t.Helper()
	v, _ := r.json(t)[key].(string)
	return v
}

// req describes one request.
type req struct {
	method, path string
	token        string            // sent as a bearer token
	cookie       string            // sent as the session cookie (name __Host-latchkey_session)
	body         any               // marshalled to JSON unless it is a string or []byte
	header       map[string]string // extra headers
}

// do sends r and validates the exchange against the OpenAPI document.
func (h *harness) do(r req) *response {
	h.t.Helper()
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	hr, err := http.NewRequest(r.method, h.url+r.path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: "__Host-latchkey_session", Value: r.cookie})
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if strings.HasPrefix(r.path, "/api/") {
		vr, _ := http.NewRequest(r.method, h.url+r.path, bytes.NewReader(body))
		vr.Header = hr.Header.Clone()
		h.v.Check(h.t, vr, body, resp.StatusCode, resp.Header, rb)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: rb}
}

// want fails the test unless the answer has the status (and error code).
func (r *response) want(t *testing.T, status int, code ...string) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d, want %d; body %s", r.status, status, r.body)
	}
	if len(code) > 0 {
		if got := r.errorCode(t); got != code[0] {
			t.Fatalf("got error code %q, want %q; body %s", got, code[0], r.body)
		}
	}
	return r
}

// addUser creates a user through the admin API and returns its id.
func (h *harness) addUser(email, pw, role string) float64 {
	h.t.Helper()
	body := map[string]string{"email": email, "password": pw}
	if role != "" {
		body["role"] = role
	}
	r := h.do(req{method: "POST", path: "/api/v1/admin/users", token: h.admin, body: body}).want(h.t, 201)
	id, _ := r.json(h.t)["id"].(float64)
	return id
}

// login signs in and returns the answer (status 200 required).
func (h *harness) login(email, pw string) *response {
	h.t.Helper()
	return h.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"email": email, "password": pw}}).want(h.t, 200)
}

// totpCode computes the code of a base32 secret at t with oathtool, an
// implementation independent of ours.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", "-N", "@"+strconv.FormatInt(at.Unix(), 10), secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// forEachDB runs fn against a fresh SQLite file and a fresh PostgreSQL
// database (when configured): the API behaves the same on both.
func forEachDB(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	storetest.ForEach(t, fn)
}

const pw = "correct horse battery staple"

// sqliteDSN is a fresh SQLite file, for tests whose subject does not depend
// on the database.
func sqliteDSN(t *testing.T) string {
	t.Helper()
	return storetest.SQLite(t)
}

// smsReceiver is a fake SMS provider speaking the webhook wire format of
// API.md: it verifies the Latchkey-Signature of every request and the exact
// JSON shape, and keeps the messages. It can be told to fail or to hang.
type smsReceiver struct {
	t      *testing.T
	url    string
	secret []byte
	mu     sync.Mutex
	msgs   []smsMessage
	mode   string // "", "fail" (HTTP 500) or "hang" (no answer)
}

// smsMessage is one SMS the fake provider received.
type smsMessage struct {
	To      string `json:"to"`
	Body    string `json:"body"`
	Purpose string `json:"purpose"`
}

func newSMSReceiver(t *testing.T) *smsReceiver {
	r := &smsReceiver{t: t, secret: []byte("webhook-secret-for-tests")}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/sms"
	return r
}

func (r *smsReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := sms.VerifySignature(req.Header.Get("Latchkey-Signature"), body, r.secret, time.Now(), time.Minute); err != nil {
		r.t.Errorf("fake SMS provider: bad signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m smsMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.To == "" || m.Body == "" || m.Purpose == "" {
		r.t.Errorf("fake SMS provider: bad body %s: %v", body, err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	mode := r.mode
	if mode == "" {
		r.msgs = append(r.msgs, m)
	}
	r.mu.Unlock()
	switch mode {
	case "fail":
		http.Error(w, "provider down", http.StatusInternalServerError)
	case "hang":
		<-req.Context().Done()
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// setMode makes the provider succeed (""), fail ("fail") or hang ("hang").
func (r *smsReceiver) setMode(mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode = mode
}

// messages returns every SMS received so far, oldest first.
func (r *smsReceiver) messages() []smsMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]smsMessage(nil), r.msgs...)
}

// lastCode returns the code of the newest SMS to number, read from the
// WebOTP line "@host #code" that ends the message.
func (r *smsReceiver) lastCode(t *testing.T, number string) string {
	t.Helper()
	msgs := r.messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To != number || msgs[i].Purpose == "notice" {
			continue
		}
		lines := strings.Split(msgs[i].Body, "\n")
		last := lines[len(lines)-1]
		if _, code, ok := strings.Cut(last, " #"); ok && len(code) == 6 {
			return code
		}
		t.Fatalf("SMS to %s does not end with the WebOTP line: %q", number, msgs[i].Body)
	}
	t.Fatalf("no code SMS to %s", number)
	return ""
}

// withKeyring makes the server use k instead of a key of its own: a second
// instance of the same deployment shares the first one's keys.
func withKeyring(k *secretbox.Keyring) harnessOption {
	return func(s *harnessSetup) { s.keyring = k }
}

// withSMSMetrics counts the SMS sends in latchkey_sms_sent_total on the
// server's /metrics, as the latchkey command does.
func withSMSMetrics() harnessOption {
	return func(s *harnessSetup) {
		if s.gateway != nil {
			s.gateway.Sender = sms.Counting(s.gateway.Sender, s.reg)
		}
	}
}
