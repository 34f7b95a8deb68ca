package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/recovery"
	"github.com/latchkey/latchkey/internal/secretbox"
	"github.com/latchkey/latchkey/internal/sms"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/totp"
)

// The service tests run every rule of package auth on the real SQLite
// store, the real keyring, the real password hasher (with cheap
// parameters), the real throttles and password policy, and the real SMS
// gateway with an in-memory outbox, so codes can be read back. Only the
// clock is the test's.

// testPassword passes the password policy for every test account.
const testPassword = "plum orbit velvet lantern"

// Phone numbers of the tests.
const (
	numberA = "+14155552671"
	numberB = "+14155552672"
)

// client is where every test request comes from.
var client = auth.Client{IP: "192.0.2.1", UserAgent: "auth-test"}

// The public messages the tests expect. They are what users read, so they
// are asserted word for word.
const (
	msgInvalidCode        = "The code is incorrect, expired or already used."
	msgInvalidCredentials = "The email or password is incorrect."
	msgWrongPassword      = "The password is incorrect."
	msgLocked             = "Too many failed attempts; the account is locked for a while."
	msgCapped             = "Too many failed attempts: the authenticator app and SMS are disabled. Sign in with your recovery code or ask an administrator."
	msgRateLimited        = "Too many failed attempts; try again later."
	msgReauthRequired     = "Verify it's you first: this change needs a fresh verification in this session."
	msgUnauthenticated    = "Sign in first: the session is missing, expired or revoked."
	msgPassedChallenge    = "This session has already passed the second factor."
	msgRoleRequiresMFA    = "Your role requires a second factor: add another method before removing this one."
)

// clock is the settable clock of the service and the throttles.
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

// hasher is the real password hasher, counting the passwords it checks and
// able to hold one check at a barrier.
type hasher struct {
	auth.PasswordHasher
	checks atomic.Int64 // Verify and VerifyDummy calls

	mu   sync.Mutex
	hold func() // run by the next check, once, before it hashes
}

func (h *hasher) Verify(ctx context.Context, pw, phc string) (bool, bool, error) {
	h.checked()
	return h.PasswordHasher.Verify(ctx, pw, phc)
}

func (h *hasher) VerifyDummy(ctx context.Context, pw string) error {
	h.checked()
	return h.PasswordHasher.VerifyDummy(ctx, pw)
}

func (h *hasher) checked() {
	h.checks.Add(1)
	h.mu.Lock()
	hold := h.hold
	h.hold = nil
	h.mu.Unlock()
	if hold != nil {
		hold()
	}
}

// holdNextCheck makes the next password check run hold first.
func (h *hasher) holdNextCheck(hold func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold = hold
}

// testService is a Service on a fresh SQLite database, with its clock, its
// hasher and its SMS outbox.
type testService struct {
	*auth.Service
	clock  *clock
	hasher *hasher
	outbox *sms.Outbox
}

// option changes the configuration of mustService.
type option func(*auth.Config)

// withRoles makes the roles require a second factor.
func withRoles(roles ...string) option {
	return func(c *auth.Config) { c.MFARequiredRoles = roles }
}

// mustService returns a Service with the default configuration changed by
// opts. Its clock starts one second into a TOTP time step.
func mustService(t *testing.T, opts ...option) *testService {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.SQLite(t), nil)
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
	clk := &clock{t: time.Date(2030, 1, 7, 9, 0, 1, 0, time.UTC)}
	// Cheap parameters: the production ones have their own tests.
	params := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := &hasher{PasswordHasher: password.NewHasher(params, 4, 0, rand.Reader)}
	outbox := sms.NewOutbox(clk.Now)
	cfg := auth.DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	svc := auth.NewService(cfg, auth.Deps{
		Store:            db,
		Hasher:           h,
		Sealer:           keyring,
		SMS:              &sms.Gateway{Sender: outbox, Product: "Latchkey", DefaultRegion: "US", Rand: rand.Reader},
		Throttles:        ratelimit.PasswordThrottles(ratelimit.NewMemory(clk.Now)),
		IsBusy:           func(err error) bool { return errors.Is(err, password.ErrBusy) },
		ValidatePassword: password.ValidateFor,
		Now:              clk.Now,
	})
	return &testService{Service: svc, clock: clk, hasher: h, outbox: outbox}
}

// account is a user with a session at aal2 and what the test needs to
// prove the user's factors.
type account struct {
	user     *auth.User
	p        *auth.Principal // a session, at aal2 unless its role still waits for a method
	secret   []byte          // the authenticator app's secret (nil: no app)
	number   string          // the active phone number ("": none)
	recovery string          // the current recovery code ("": none)
}

// mustUser creates a user with testPassword.
func (s *testService) mustUser(t *testing.T, email, role string) *auth.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), email, testPassword, role)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// mustLogin signs in with testPassword.
func (s *testService) mustLogin(t *testing.T, email string) *auth.LoginResult {
	t.Helper()
	res, err := s.Login(t.Context(), email, testPassword, client, "")
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return res
}

// mustAuth returns the principal of a session token, as every request
// does first.
func (s *testService) mustAuth(t *testing.T, token string) *auth.Principal {
	t.Helper()
	p, err := s.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

// mustAccount creates a user with the given methods (MethodTOTP,
// MethodSMS), enrolled in that order in one session, and returns the
// account with that session (at aal1 while a role requiring MFA waits for
// the first method).
func (s *testService) mustAccount(t *testing.T, email string, methods ...string) *account {
	t.Helper()
	a := &account{user: s.mustUser(t, email, "")}
	a.p = s.mustAuth(t, s.mustLogin(t, email).Token)
	for _, m := range methods {
		switch m {
		case auth.MethodTOTP:
			s.mustAddTOTP(t, a)
		case auth.MethodSMS:
			s.mustAddPhone(t, a, numberA)
		default:
			t.Fatalf("mustAccount: unknown method %q", m)
		}
	}
	return a
}

// mustAddTOTP steps up and links a new authenticator app to the account.
func (s *testService) mustAddTOTP(t *testing.T, a *account) {
	t.Helper()
	s.mustStepUp(t, a)
	secret := s.mustStartTOTP(t, a.p)
	res, err := s.ConfirmTOTP(t.Context(), a.p, s.nextTOTP(secret), client)
	if err != nil {
		t.Fatalf("confirm totp: %v", err)
	}
	a.secret, a.recovery = secret, res.RecoveryCode
	s.confirmed(t, a, res)
}

// confirmed follows a confirmation that promoted an enrolment-only
// session to a new token.
func (s *testService) confirmed(t *testing.T, a *account, res *auth.ConfirmResult) {
	t.Helper()
	if res.Token != "" {
		a.p = s.mustAuth(t, res.Token)
	}
}

// mustStartTOTP starts an app enrolment in a stepped-up session and
// returns the secret.
func (s *testService) mustStartTOTP(t *testing.T, p *auth.Principal) []byte {
	t.Helper()
	e, err := s.StartTOTP(t.Context(), p)
	if err != nil {
		t.Fatalf("start totp: %v", err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil {
		t.Fatalf("decode secret: %v", err)
	}
	return secret
}

// mustAddPhone steps up and links number to the account.
func (s *testService) mustAddPhone(t *testing.T, a *account, number string) {
	t.Helper()
	s.mustStepUp(t, a)
	code := s.mustSend(t, number, func(ctx context.Context) (*auth.SMSSent, error) {
		return s.StartPhone(ctx, a.p, number, client)
	})
	res, err := s.ConfirmPhone(t.Context(), a.p, code, client)
	if err != nil {
		t.Fatalf("confirm phone: %v", err)
	}
	a.number, a.recovery = number, res.RecoveryCode
	s.confirmed(t, a, res)
}

// mustStepUp opens the step-up window of the account's session with the
// app, else the phone, else the password.
func (s *testService) mustStepUp(t *testing.T, a *account) {
	t.Helper()
	var err error
	switch {
	case a.secret != nil:
		_, err = s.Reauth(t.Context(), a.p, auth.MethodTOTP, s.nextTOTP(a.secret), "", client)
	case a.number != "":
		code := s.mustSend(t, a.number, func(ctx context.Context) (*auth.SMSSent, error) {
			return s.SendReauthSMS(ctx, a.p, client)
		})
		_, err = s.Reauth(t.Context(), a.p, auth.MethodSMS, code, "", client)
	default:
		_, err = s.Reauth(t.Context(), a.p, auth.MethodPassword, "", testPassword, client)
	}
	if err != nil {
		t.Fatalf("step up: %v", err)
	}
}

// mustSignIn opens a new session of the account and passes its challenge
// as mustStepUp would; it returns the session at aal2.
func (s *testService) mustSignIn(t *testing.T, a *account) *auth.Principal {
	t.Helper()
	res := s.mustLogin(t, a.user.Email)
	p := s.mustAuth(t, res.Token)
	if !res.MFARequired {
		return p
	}
	var method, code string
	switch {
	case a.secret != nil:
		method, code = auth.MethodTOTP, s.nextTOTP(a.secret)
	case a.number != "":
		method = auth.MethodSMS
		code = s.mustSend(t, a.number, func(ctx context.Context) (*auth.SMSSent, error) {
			return s.SendLoginSMS(ctx, p, client)
		})
	default:
		t.Fatal("mustSignIn: the account has no method to pass the challenge with")
	}
	ch, err := s.VerifyLogin(t.Context(), p, method, code, client)
	if err != nil {
		t.Fatalf("verify login: %v", err)
	}
	return s.mustAuth(t, ch.Token)
}

// nextTOTP moves the clock to the next time step and returns the app's
// code for it: the replay guard accepts each step only once.
func (s *testService) nextTOTP(secret []byte) string {
	s.clock.Advance(totp.Period * time.Second)
	return totp.CodeAt(secret, totp.Step(s.clock.Now()))
}

// wrongTOTP returns a well-formed code that no step within the accepted
// skew of now matches.
func (s *testService) wrongTOTP(secret []byte) string {
	now := totp.Step(s.clock.Now())
	skew := int64(s.Config().TOTPSkew)
	var valid []string
	for d := -skew; d <= skew; d++ {
		valid = append(valid, totp.CodeAt(secret, now+d))
	}
	for n := 0; ; n++ {
		if code := fmt.Sprintf("%06d", n); !slices.Contains(valid, code) {
			return code
		}
	}
}

// wrongRecoveryCode returns a well-formed recovery code no account has.
func wrongRecoveryCode(t *testing.T) string {
	t.Helper()
	c, err := recovery.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return recovery.Format(c)
}

// mustSend waits out the per-number cooldown, calls send and returns the
// code of the message it sent to number.
func (s *testService) mustSend(t *testing.T, number string, send func(ctx context.Context) (*auth.SMSSent, error)) string {
	t.Helper()
	s.clock.Advance(s.Config().SMSLimits.NumberCooldown)
	before := len(s.outbox.Messages())
	if _, err := send(t.Context()); err != nil {
		t.Fatalf("send sms: %v", err)
	}
	msgs := s.outbox.Messages()
	if len(msgs) != before+1 || msgs[0].To != number {
		t.Fatalf("send sms: outbox %+v, want one new message to %s", msgs, number)
	}
	code := smsCode.FindString(msgs[0].Body)
	if code == "" {
		t.Fatalf("no code in the message %q", msgs[0].Body)
	}
	return code
}

// smsCode finds the code in a message text.
var smsCode = regexp.MustCompile(`\b[0-9]{6}\b`)

// kindNames name the kinds in failure messages.
var kindNames = map[auth.Kind]string{
	auth.KindInternal: "Internal", auth.KindInvalid: "Invalid", auth.KindUnauthenticated: "Unauthenticated",
	auth.KindInvalidCredentials: "InvalidCredentials", auth.KindInvalidCode: "InvalidCode",
	auth.KindMFARequired: "MFARequired", auth.KindReauthRequired: "ReauthRequired",
	auth.KindEnrollmentRequired: "EnrollmentRequired", auth.KindForbidden: "Forbidden",
	auth.KindNotFound: "NotFound", auth.KindConflict: "Conflict", auth.KindRateLimited: "RateLimited",
	auth.KindLocked: "Locked", auth.KindSMSUnavailable: "SMSUnavailable", auth.KindUnavailable: "Unavailable",
}

// wantError fails the test unless err is an *auth.Error of kind with
// message, and returns it.
func wantError(t *testing.T, err error, kind auth.Kind, message string) *auth.Error {
	t.Helper()
	e, ok := errors.AsType[*auth.Error](err)
	if !ok {
		t.Fatalf("got error %v, want an *auth.Error of kind %s", err, kindNames[kind])
	}
	if e.Kind != kind || e.Message != message {
		t.Fatalf("got %s %q, want %s %q", kindNames[e.Kind], e.Message, kindNames[kind], message)
	}
	return e
}

// wantMethods fails the test unless the user's confirmed methods are want.
func (s *testService) wantMethods(t *testing.T, p *auth.Principal, want ...string) {
	t.Helper()
	info, err := s.Challenge(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Methods, want) {
		t.Errorf("methods: got %v, want %v", info.Methods, want)
	}
}

// wantSignedOut fails the test unless the session's token is refused.
func (s *testService) wantSignedOut(t *testing.T, p *auth.Principal) {
	t.Helper()
	_, err := s.Authenticate(t.Context(), p.Token)
	wantError(t, err, auth.KindUnauthenticated, msgUnauthenticated)
}

// sendLoginSMS sends a sign-in code for the session and returns it.
func (s *testService) sendLoginSMS(t *testing.T, a *account, p *auth.Principal) string {
	t.Helper()
	return s.mustSend(t, a.number, func(ctx context.Context) (*auth.SMSSent, error) {
		return s.SendLoginSMS(ctx, p, client)
	})
}

// sendReauthSMS sends a step-up code for the session and returns it.
func (s *testService) sendReauthSMS(t *testing.T, a *account, p *auth.Principal) string {
	t.Helper()
	return s.mustSend(t, a.number, func(ctx context.Context) (*auth.SMSSent, error) {
		return s.SendReauthSMS(ctx, p, client)
	})
}

// otherCode returns a well-formed SMS code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// mustChallenge opens a new aal1 session of the account.
func (s *testService) mustChallenge(t *testing.T, a *account) *auth.Principal {
	t.Helper()
	res := s.mustLogin(t, a.user.Email)
	if !res.MFARequired {
		t.Fatalf("login of %s: no second factor required", a.user.Email)
	}
	return s.mustAuth(t, res.Token)
}
