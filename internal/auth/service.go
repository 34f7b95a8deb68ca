package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// PasswordHasher hashes and checks passwords (argon2id with bounded
// concurrency in production). ErrBusy-style overload errors are returned as
// they are; the service turns them into KindRateLimited with IsBusy.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, phc string) (ok, needsRehash bool, err error)
	// VerifyDummy does the work of Verify against a fixed hash, so that a
	// login for an unknown email takes as long as one for a known email.
	VerifyDummy(ctx context.Context, password string) error
}

// Throttle limits failed attempts under one key. Check never records;
// Fail records one failure. Successful attempts are never counted.
type Throttle interface {
	// Check returns how long the key must wait before another attempt
	// (0 when an attempt is allowed now).
	Check(ctx context.Context, key string) (time.Duration, error)
	Fail(ctx context.Context, key string) error
}

// Sealer seals secrets at rest and computes keyed hashes (the keyring).
// Keys come and go with the configuration: a value stored under a key id
// the keyring no longer has cannot be opened or checked, and HasKey says so
// up front.
type Sealer interface {
	Seal(plaintext, aad []byte) (sealed []byte, keyID string, err error)
	Open(sealed, aad []byte) ([]byte, error)
	PrimaryID() string
	// HasKey reports whether keyID is in the keyring.
	HasKey(keyID string) bool
	MAC(keyID, purpose string, data []byte) ([]byte, error)
}

// Config holds the product's tunable rules. DefaultConfig documents the
// defaults and their reasons.
type Config struct {
	SessionIdle      time.Duration // idle timeout of a session
	SessionAbsolute  time.Duration // absolute lifetime of a session
	TouchEvery       time.Duration // how stale last_seen_at may get before it is written again
	StepUpWindow     time.Duration // how long a step-up lasts
	PendingTOTP      time.Duration // how long an unconfirmed app enrolment lasts
	TOTPSkew         int           // accepted steps either side of now
	Issuer           string        // otpauth issuer and label prefix
	Lockout          LockoutPolicy
	MFARequiredRoles []string
	SMSCodeTTL       time.Duration // how long an SMS code is valid (5 min)
	SMSMaxAttempts   int           // wrong tries that void an SMS code (5)
	SMSLimits        SMSLimits
	// KnownIPWindow: a successful login from an IP within this window exempts
	// that IP from the per-account slowdown, so an attacker guessing from
	// elsewhere cannot lock the real user out.
	KnownIPWindow time.Duration
}

// DefaultConfig returns the defaults of PRODUCT.md.
func DefaultConfig() Config {
	return Config{
		SessionIdle:     30 * time.Minute, // OWASP session cheat sheet; NIST AAL2 allows up to 1 h
		SessionAbsolute: 12 * time.Hour,   // NIST AAL2 allows up to 24 h
		TouchEvery:      time.Minute,      // keeps the session check a pure read almost always
		StepUpWindow:    5 * time.Minute,
		PendingTOTP:     15 * time.Minute,
		TOTPSkew:        1, // RFC 6238 §5.2: at most one step of network delay (documented choice)
		Issuer:          "Latchkey",
		Lockout: LockoutPolicy{
			LockEvery:   10,
			LockFor:     15 * time.Minute,
			MaxFailures: 100, // NIST SP 800-63B-4 §3.2.2: no more than 100 consecutive failures
		},
		KnownIPWindow:  30 * 24 * time.Hour,
		SMSCodeTTL:     5 * time.Minute, // NIST SP 800-63B-4 §3.1.3.2 allows up to 10
		SMSMaxAttempts: 5,
		SMSLimits: SMSLimits{ // against SMS pumping (toll fraud)
			NumberCooldown: 30 * time.Second,
			NumberPerHour:  5,
			NumberPerDay:   10,
			AccountPerHour: 10,
			IPPerHour:      30,
			GlobalPerHour:  1000,
		},
	}
}

// Throttles are the password-attempt throttles.
type Throttles struct {
	IP        Throttle // failed passwords from one IP, over all accounts
	AccountIP Throttle // failed passwords for one account from one IP
	Account   Throttle // failed passwords for one account from IPs it never signed in from
}

// Service implements every rule of sign-in and self-service. The HTML pages
// and the JSON API both call it; no rule lives anywhere else.
type Service struct {
	cfg       Config
	store     Store
	hasher    PasswordHasher
	sealer    Sealer
	sms       SMS      // nil: SMS is switched off
	smsStore  SMSStore // the store, when it keeps phones
	throttles Throttles
	isBusy    func(error) bool
	// validatePassword is the password policy (length, blocklist, context
	// words).
	validatePassword func(password string, context ...string) error
	now              func() time.Time
	rand             io.Reader
	logger           *slog.Logger
	// touches are the session activity not yet written (see Authenticate).
	touches touches
}

// Deps are the collaborators of a Service. Now and Rand default to the real
// clock and crypto/rand.
type Deps struct {
	Store  Store
	Hasher PasswordHasher
	Sealer Sealer
	// SMS delivers text messages; nil switches the SMS method off.
	SMS       SMS
	Throttles Throttles
	// IsBusy reports whether a hasher error means "overloaded, try later".
	IsBusy func(error) bool
	// ValidatePassword applies the password policy to a new password;
	// context holds words the password must not contain (the issuer name,
	// the account's email).
	ValidatePassword func(password string, context ...string) error
	Now              func() time.Time
	Rand             io.Reader
	Logger           *slog.Logger
}

// NewService returns a Service.
func NewService(cfg Config, d Deps) *Service {
	s := &Service{
		cfg: cfg, store: d.Store, hasher: d.Hasher, sealer: d.Sealer,
		throttles: d.Throttles, isBusy: d.IsBusy, validatePassword: d.ValidatePassword, now: d.Now, rand: d.Rand, logger: d.Logger,
	}
	if d.SMS != nil {
		s.sms = d.SMS
	}
	if ss, ok := d.Store.(SMSStore); ok {
		s.smsStore = ss
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.isBusy == nil {
		s.isBusy = func(error) bool { return false }
	}
	return s
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Client describes where a request came from, for events and throttles.
type Client struct {
	IP        string
	UserAgent string
}

// Principal is an authenticated session and its user.
type Principal struct {
	Session *Session
	User    *User
	Token   string // the raw token this request presented
}

// NormalizeEmail trims and case-folds an email address.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// ValidateEmail checks the shape of a normalized address.
func ValidateEmail(email string) error {
	at := strings.LastIndexByte(email, '@')
	switch {
	case email == "":
		return Invalidf("email is required")
	case len(email) > 254:
		return Invalidf("email is too long (at most 254 characters)")
	// ':' is refused too: it cannot stand in an authenticator app's label.
	case at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>,;:\""):
		return Invalidf("email is not a valid address")
	}
	return nil
}

// roleRequiresMFA reports whether the policy requires a second factor for role.
func (s *Service) roleRequiresMFA(role string) bool {
	return slices.Contains(s.cfg.MFARequiredRoles, role)
}

// newToken returns a 256-bit random token (base64url, 43 characters) and its
// SHA-256, which is all the database ever sees.
func (s *Service) newToken(prefix string) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", nil, fmt.Errorf("read random: %w", err)
	}
	tok := prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, HashToken(tok), nil
}

// HashToken returns the SHA-256 of a session or API token. A plain hash is
// enough here: tokens carry 256 bits of entropy, so no key or salt is needed.
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// event builds an audit event for the user from the client.
func (s *Service) event(userID int64, typ string, c Client, at time.Time, detail string) *Event {
	return &Event{UserID: userID, Type: typ, At: at, IP: c.IP, UserAgent: c.UserAgent, Detail: detail}
}

// addEvent records an event on its own. Losing such an event must not fail
// the user's request, so the error is logged.
func (s *Service) addEvent(ctx context.Context, e *Event) {
	if err := s.store.AddEvent(ctx, e); err != nil {
		s.logger.ErrorContext(ctx, "record event", "type", e.Type, "user_id", e.UserID, "err", err)
	}
}

// methods returns the user's confirmed second factors as this server
// offers them (SMS hidden when switched off).
func (s *Service) methods(ctx context.Context, userID int64) (MethodSet, error) {
	m, err := s.store.MFAMethods(ctx, userID)
	m.smsOff = s.sms == nil
	return m, err
}
