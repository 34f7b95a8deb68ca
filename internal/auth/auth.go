// Package auth holds Latchkey's domain: users, sessions, second factors,
// audit events, and the rules that connect them (the aal1 -> aal2 sign-in
// state machine, enrolment, step-up, lockout, recovery codes and role
// policy). It imports no other Latchkey package; storage, hashing, TOTP and
// delivery come in through the small interfaces declared here.
package auth

import "time"

// Authentication assurance levels of a session.
const (
	AAL1 = 1 // password only
	AAL2 = 2 // password and a second factor (or a user with no factor)
)

// Method names, as used in the API.
const (
	MethodTOTP         = "totp"
	MethodSMS          = "sms"
	MethodRecoveryCode = "recovery_code"
	MethodPassword     = "password" // step-up only, for a user with no second factor
)

// User is an account.
type User struct {
	ID           int64
	Email        string // trimmed and case-folded; unique
	Role         string // "user" by default; free text such as "admin"
	PasswordHash string // argon2id PHC string
	// PreferredMethod is the second factor used last successfully ("" if none).
	PreferredMethod string
	// PasswordVersion counts the password changes. A session is usable only
	// while it carries the user's current version.
	PasswordVersion int64
	CreatedAt       time.Time
}

// Session is a signed-in browser or API client. Only the SHA-256 of its
// token is stored. ID stays the same when the token is rotated, so step-up
// proofs and SMS codes can be bound to the session.
type Session struct {
	ID           int64
	TokenHash    []byte
	UserID       int64
	AAL          int
	CreatedAt    time.Time // the password step; the absolute timeout runs from here
	LastSeenAt   time.Time // the idle timeout runs from here
	VerifiedAt   time.Time // the last second-factor verification (zero if none)
	ReauthAt     time.Time // the last explicit step-up (zero if none)
	ReauthMethod string    // the method of that step-up
	IP           string
	UserAgent    string
	// PasswordVersion is the user's password version when the password was
	// checked for this session; after a password change the session is dead.
	PasswordVersion int64
}

// APIToken is a bearer token for the admin API. Only its SHA-256 is stored.
type APIToken struct {
	ID        int64
	Name      string
	TokenHash []byte
	Admin     bool
	CreatedAt time.Time
}

// Event types recorded in the audit log.
const (
	EventLoginSucceeded        = "login_succeeded"
	EventLoginFailed           = "login_failed"
	EventMFASucceeded          = "mfa_succeeded"
	EventMFAFailed             = "mfa_failed"
	EventLocked                = "locked"
	EventTOTPEnrolled          = "totp_enrolled"
	EventTOTPRemoved           = "totp_removed"
	EventPhoneAdded            = "phone_added"
	EventPhoneRemoved          = "phone_removed"
	EventRecoveryCodeGenerated = "recovery_code_generated"
	EventRecoveryCodeUsed      = "recovery_code_used"
	EventPasswordChanged       = "password_changed"
	EventMFAResetByAdmin       = "mfa_reset_by_admin"
)

// Event is one line of a user's security activity. Detail is a short
// human-readable note and never contains a secret.
type Event struct {
	ID        int64
	UserID    int64
	Type      string
	At        time.Time
	IP        string
	UserAgent string
	Detail    string
}

// TOTP factor states.
const (
	FactorPending = "pending"
	FactorActive  = "active"
)

// TOTPFactor is an authenticator app. A user has at most one active and at
// most one pending factor; the pending one becomes active on confirmation and
// the earlier active one is then deleted.
type TOTPFactor struct {
	ID     int64
	UserID int64
	State  string
	// SealedSecret is the secret sealed by the keyring, bound to (user, factor).
	SealedSecret []byte
	KeyID        string
	// LastStep is the last accepted RFC 6238 time step (-1 if none). A code is
	// accepted only for a step greater than this.
	LastStep    int64
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero while pending
	ExpiresAt   time.Time // pending only: when the enrolment lapses
	// SessionID is the session that started the enrolment (pending only
	// matters): only it may confirm, so a second session of the user that
	// never stepped up cannot finish the enrolment and take the new
	// recovery code.
	SessionID int64
}

// RecoveryCode is a user's single account recovery code, kept as a keyed hash.
type RecoveryCode struct {
	UserID    int64
	Hash      []byte
	CreatedAt time.Time
}

// MFAState is the per-account second-factor failure state, shared by every
// session, method and instance.
type MFAState struct {
	Failures    int       // consecutive failures; only a success resets it
	LockedUntil time.Time // zero if not locked
}

// Phone is an SMS number of a user: at most one active and one pending.
type Phone struct {
	ID          int64
	UserID      int64
	Number      string // E.164
	State       string // FactorPending or FactorActive
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero while pending
	// SessionID is the session that started the enrolment; only it may
	// confirm the pending number.
	SessionID int64
}

// SMS code purposes. A code is only good for the purpose, session and
// number it was sent for.
const (
	PurposeLogin  = "login"
	PurposeReauth = "reauth"
	PurposeEnroll = "enroll"
	PurposeNotice = "notice" // a notice carries no code
)

// SMSCode is a one-time code sent by SMS, stored as a keyed hash.
type SMSCode struct {
	ID        int64
	UserID    int64
	SessionID int64
	Purpose   string
	Number    string // the E.164 number it was sent to
	Hash      []byte // key id, ':', HMAC-SHA256 of the code
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int // wrong tries so far
}

// SMSLimits cap SMS sending against SMS pumping (toll fraud). Zero values
// switch a cap off.
type SMSLimits struct {
	NumberCooldown time.Duration // minimum time between two sends to one number (30 s)
	NumberPerHour  int           // sends to one number per rolling hour (5)
	NumberPerDay   int           // sends to one number per rolling 24 h (10)
	AccountPerHour int           // sends for one account per rolling hour
	IPPerHour      int           // sends caused from one IP per rolling hour
	GlobalPerHour  int           // sends in all per rolling hour
}
