package auth

import (
	"context"
	"time"
)

// MethodSet says which second factors a user has confirmed. Pending
// enrolments never count.
type MethodSet struct {
	TOTP         bool
	SMS          bool
	RecoveryCode bool
	// smsOff hides SMS from List when the operator switched SMS off. Any
	// still counts the phone: switching SMS off must never let a user with
	// only a phone in without a second factor.
	smsOff bool
}

// Any reports whether the user has a second factor. A recovery code alone is
// not one: it exists only beside a method.
func (m MethodSet) Any() bool { return m.TOTP || m.SMS }

// List returns the method names in the order the API shows them.
func (m MethodSet) List() []string {
	out := []string{}
	if m.TOTP {
		out = append(out, MethodTOTP)
	}
	if m.SMS && !m.smsOff {
		out = append(out, MethodSMS)
	}
	if m.RecoveryCode && m.Any() {
		out = append(out, MethodRecoveryCode)
	}
	return out
}

// LockoutPolicy is the per-account second-factor failure policy.
type LockoutPolicy struct {
	LockEvery   int           // lock after every this many consecutive failures (10)
	LockFor     time.Duration // for this long (15 min)
	MaxFailures int           // at this many, TOTP and SMS stop until recovery or reset (100); 0 = no cap
}

// Store is what the auth services need from the database. Every rule that
// must hold across instances is one atomic statement or one transaction here.
// Methods return ErrNotFound (compare with errors.Is) for a missing row and
// an *Error of KindConflict for a broken uniqueness or state rule; any other
// error is internal. Times are passed in by the caller, whose clock rules.
type Store interface {
	// CreateUser inserts u and sets u.ID. KindConflict if the email is taken.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns the users with this email, or all users (by id) if
	// email is empty.
	ListUsers(ctx context.Context, email string) ([]*User, error)
	// ReplacePasswordHash sets the user's hash to newHash only while it is
	// still oldHash (a rehash after login must never undo a password change
	// that committed meanwhile); ErrNotFound otherwise.
	ReplacePasswordHash(ctx context.Context, userID int64, oldHash, newHash string) error
	// CreateSession inserts s and sets s.ID.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByTokenHash returns the session with this token hash and its
	// user, in one query (this is the hot path of every request). A session
	// whose password version is not the user's is not found.
	SessionByTokenHash(ctx context.Context, hash []byte) (*Session, *User, error)
	// TouchSessions moves last_seen_at of each session in seen forward to
	// its time (never back), in short transactions; sessions that are gone
	// are skipped. After an error, some may have moved: moving them again
	// changes nothing.
	TouchSessions(ctx context.Context, seen map[int64]time.Time) error
	// RotateSession gives session id a new token hash and sets its aal and
	// verified_at, but only while its token hash is still oldHash; otherwise
	// ErrNotFound. The old token stops working at once.
	RotateSession(ctx context.Context, id int64, oldHash, newHash []byte, aal int, verifiedAt time.Time) error
	// SetSessionReauth records a step-up made in session id.
	SetSessionReauth(ctx context.Context, id int64, method string, at time.Time) error
	DeleteSession(ctx context.Context, id int64) error
	// DeleteExpiredSessions deletes sessions last seen before idleBefore or
	// created before createdBefore, and returns how many.
	DeleteExpiredSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error)

	// CreateAPIToken inserts t and sets t.ID.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	APITokenByHash(ctx context.Context, hash []byte) (*APIToken, error)

	// AddEvent inserts e and sets e.ID.
	AddEvent(ctx context.Context, e *Event) error
	// ListEvents returns up to limit events of the user, newest first.
	ListEvents(ctx context.Context, userID int64, limit int) ([]*Event, error)
	// HasSucceededFrom reports whether the user has a login_succeeded event
	// from ip at or after since.
	HasSucceededFrom(ctx context.Context, userID int64, ip string, since time.Time) (bool, error)

	// MFAMethods returns the user's confirmed second factors.
	MFAMethods(ctx context.Context, userID int64) (MethodSet, error)
	// MFAState returns the user's second-factor failure state.
	MFAState(ctx context.Context, userID int64) (MFAState, error)
	// TOTPFactors returns the user's active and pending factors (nil if none).
	// An expired pending factor is returned as nil.
	TOTPFactors(ctx context.Context, userID int64, now time.Time) (active, pending *TOTPFactor, err error)
	// PutPendingTOTP inserts f as the user's pending factor, deleting any
	// earlier pending one, and sets f.ID. The caller seals the secret with
	// f.ID in its additional data, so PutPendingTOTP takes a seal function
	// that is called with the new ID inside the transaction.
	PutPendingTOTP(ctx context.Context, f *TOTPFactor, seal func(id int64) (sealed []byte, keyID string, err error)) error
	// AllTOTPFactors returns every factor, for re-sealing.
	AllTOTPFactors(ctx context.Context) ([]*TOTPFactor, error)
	// ResealTOTP replaces a factor's sealed secret if it still has oldKeyID.
	ResealTOTP(ctx context.Context, id int64, oldKeyID string, sealed []byte, keyID string) error

	// RecoveryCode returns the user's recovery code (ErrNotFound if none).
	RecoveryCode(ctx context.Context, userID int64) (*RecoveryCode, error)
	// InTx runs fn as one atomic unit of writes: committed if fn returns
	// nil, and nothing of it kept if fn returns an error (which InTx then
	// returns). Every use case that writes more than one row owns its
	// transaction this way, so its rule reads top to bottom in this
	// package. fn must use only tx: no other Store call, no network, no
	// password hashing — on SQLite every write of every request waits for
	// fn (the store commits units in batches behind one writer).
	InTx(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the write side of one InTx unit. Each verb is one atomic statement
// (or a short fixed sequence) with a one-line contract; the rules that
// combine them live in the use cases. Verbs return ErrNotFound and
// KindConflict as Store does.
type Tx interface {
	// CountAttempt admits one second-factor attempt and counts it as a
	// failure before its result is used, in one conditional statement, so
	// N parallel attempts are admitted at most as the policy allows. It
	// admits nothing while the account is locked at now (MFAState.Locked),
	// or when capped and the count has reached p.MaxFailures; the attempt
	// that makes the count a multiple of p.LockEvery locks the account until
	// now+p.LockFor. It reports whether the attempt was admitted.
	CountAttempt(ctx context.Context, userID int64, now time.Time, p LockoutPolicy, capped bool) (bool, error)
	// MFAState reads the failure state as this unit sees it.
	MFAState(ctx context.Context, userID int64) (MFAState, error)
	// MFAMethods reads the confirmed factors as this unit sees them.
	MFAMethods(ctx context.Context, userID int64) (MethodSet, error)
	// ClearFailures clears the failure count and lock and, unless
	// preferredMethod is "", sets the method pre-selected next time.
	ClearFailures(ctx context.Context, userID int64, preferredMethod string) error
	// ConsumeTOTPStep sets the active factor's last step to step if step is
	// greater; false (a replay) otherwise.
	ConsumeTOTPStep(ctx context.Context, factorID, step int64) (bool, error)
	// SetReauth records a step-up made in the session.
	SetReauth(ctx context.Context, sessionID int64, method string, at time.Time) error
	// UseSMSCode consumes the code if it is still live (unused, unexpired at
	// now, fewer than maxAttempts wrong tries); false if not. Of N
	// concurrent uses one wins.
	UseSMSCode(ctx context.Context, codeID int64, now time.Time, maxAttempts int) (bool, error)
	// FailSMSCode counts one wrong try against the code; ErrNotFound if it
	// is gone (a new send replaced it).
	FailSMSCode(ctx context.Context, codeID int64) error
	// SwapRecoveryCode replaces the user's code with next only while its
	// hash is still oldHash (compare-and-swap); false if it changed.
	SwapRecoveryCode(ctx context.Context, oldHash []byte, next *RecoveryCode) (bool, error)
	// PutRecoveryCode makes rc the user's only code, voiding earlier ones.
	PutRecoveryCode(ctx context.Context, rc *RecoveryCode) error
	// DeleteRecoveryCode deletes the user's code, if any.
	DeleteRecoveryCode(ctx context.Context, userID int64) error
	// ActivateTOTP deletes the user's active factor and makes pending
	// factor pendingID active with last_step = step; KindConflict if it is
	// no longer pending or has expired at now.
	ActivateTOTP(ctx context.Context, userID, pendingID, step int64, now time.Time) error
	// DeleteTOTP deletes the user's active and pending factors; false (and
	// nothing deleted) if there was no active one.
	DeleteTOTP(ctx context.Context, userID int64) (bool, error)
	// ActivatePhone deletes the user's active number and makes pending
	// number pendingID active, confirmed at now; KindConflict if it is no
	// longer pending.
	ActivatePhone(ctx context.Context, userID, pendingID int64, now time.Time) error
	// DeletePhone deletes the user's active and pending numbers; false (and
	// nothing deleted) if there was no active one.
	DeletePhone(ctx context.Context, userID int64) (bool, error)
	// DeleteOtherSessions deletes every session of the user except
	// keepSessionID (0: all).
	DeleteOtherSessions(ctx context.Context, userID, keepSessionID int64) error
	// SetPassword sets a new password hash and moves the user's password
	// version on: every session made under the old version is dead (see
	// Store.SessionByTokenHash) unless carried over.
	SetPassword(ctx context.Context, userID int64, hash string) error
	// CarrySession moves the user's session to the current password
	// version.
	CarrySession(ctx context.Context, userID, sessionID int64) error
	// ForgetFactors deletes every factor (apps and phones, active and
	// pending), SMS code and recovery code of the user, and clears the
	// failure state and the preferred method. The SMS send records stay:
	// they count toward the sending caps, which a reset must not lift.
	ForgetFactors(ctx context.Context, userID int64) error
	// AddEvents records the events (UserID 0 means userID).
	AddEvents(ctx context.Context, userID int64, events ...*Event) error
}

// SMSStore is what the SMS method needs from the database. Every cap and
// every code rule is enforced here, in the shared database, so that N
// instances behave as one.
type SMSStore interface {
	// Phones returns the user's active and pending numbers (nil if none).
	Phones(ctx context.Context, userID int64) (active, pending *Phone, err error)
	// PutPendingPhone stores p as the user's pending number, replacing any
	// earlier pending one, and sets p.ID.
	PutPendingPhone(ctx context.Context, p *Phone) error
	// ReserveSMS checks every cap of caps for a send of c from ip at now and,
	// if all allow it, records the send and stores c as the only live code of
	// (user, session, purpose) — earlier ones are deleted — in one
	// transaction serialized against every other send. It sets c.ID. When
	// caps refuse, it writes nothing and returns the refusal.
	ReserveSMS(ctx context.Context, c *SMSCode, ip string, now time.Time, caps []SMSCap) (*SMSRefusal, error)
	// CancelSMS undoes ReserveSMS after a failed delivery: the code and its
	// send record are deleted, so the failure counts against no cap.
	CancelSMS(ctx context.Context, codeID int64) error
	// DeleteOldSMS deletes the send records older than before and the codes
	// that expired before it, and returns how many rows went.
	DeleteOldSMS(ctx context.Context, before time.Time) (int64, error)
	// RecordSMSNotice records a notice sent to a number (it counts toward
	// the account, IP and global caps of later sends, but no cap stops it).
	RecordSMSNotice(ctx context.Context, userID int64, number, ip string, now time.Time) error
	// LiveSMSCode returns the live code of (user, session, purpose): unused,
	// unexpired at now and with fewer than maxAttempts wrong tries.
	// ErrNotFound if there is none.
	LiveSMSCode(ctx context.Context, userID, sessionID int64, purpose string, now time.Time, maxAttempts int) (*SMSCode, error)
}
