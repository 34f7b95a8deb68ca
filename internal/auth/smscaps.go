package auth

import (
	"context"
	"time"
)

// SMSScope is what a sending cap counts sends by.
type SMSScope int

// The scopes of the sending caps.
const (
	SMSScopeNumber  SMSScope = iota + 1 // sends to the number the code goes to
	SMSScopeAccount                     // sends for the account
	// SMSScopeIP counts sends caused from the client's IP. An empty IP is
	// one shared bucket, not an exemption: fail closed.
	SMSScopeIP
	SMSScopeGlobal // every send
)

// SMSCap is one limit on SMS sending: at most Limit sends of its scope in
// any rolling Window (a send exactly Window old no longer counts). SMSCaps decides which caps exist;
// SMSStore.ReserveSMS runs whatever caps it is given.
type SMSCap struct {
	Name    string // names the cap in logs and tests, e.g. "number-per-hour"
	Scope   SMSScope
	Limit   int           // at least 1
	Window  time.Duration // positive
	Notices bool          // notices count toward the cap, not only codes
	Message string        // the public message when the cap refuses
}

// SMSRefusal is a store's answer when caps refuse a send: the cap that
// frees last, so a client that waits until then is not refused again by
// another, and when it frees.
type SMSRefusal struct {
	Cap     SMSCap
	FreesAt time.Time
}

// Err returns the refusal as the user sees it at now: KindRateLimited with
// the cap's message and RetryAfter the time until it frees.
func (r *SMSRefusal) Err(now time.Time) *Error {
	// Retry-After is in whole seconds on the wire; never tell a client 0.
	return &Error{Kind: KindRateLimited, Message: r.Cap.Message, RetryAfter: max(r.FreesAt.Sub(now), time.Second)}
}

// The public messages of the sending caps. Each says which limit refused.
const (
	msgSMSCooldown = "A code was just sent to this number; wait a moment before asking for another."
	msgSMSNumber   = "Too many codes sent to this number; try again later."
	msgSMSAccount  = "Too many codes sent for this account; try again later."
	msgSMSIP       = "Too many codes requested from your network; try again later."
	msgSMSGlobal   = "Too many text messages are being sent right now; try again later."
)

// SMSCaps returns the sending caps of l, in a fixed order. A zero (or
// negative) value of l switches its cap off, and the cap is left out.
func SMSCaps(l SMSLimits) []SMSCap {
	// The number caps count codes only: a notice goes to a number that was
	// just removed or replaced, and must not keep its owner from getting a
	// code there. The account, IP and global caps count notices too.
	all := []SMSCap{
		{Name: "number-cooldown", Scope: SMSScopeNumber, Limit: 1, Window: l.NumberCooldown, Message: msgSMSCooldown},
		{Name: "number-per-hour", Scope: SMSScopeNumber, Limit: l.NumberPerHour, Window: time.Hour, Message: msgSMSNumber},
		{Name: "number-per-day", Scope: SMSScopeNumber, Limit: l.NumberPerDay, Window: 24 * time.Hour, Message: msgSMSNumber},
		{Name: "account-per-hour", Scope: SMSScopeAccount, Limit: l.AccountPerHour, Window: time.Hour, Notices: true, Message: msgSMSAccount},
		{Name: "ip-per-hour", Scope: SMSScopeIP, Limit: l.IPPerHour, Window: time.Hour, Notices: true, Message: msgSMSIP},
		{Name: "global-per-hour", Scope: SMSScopeGlobal, Limit: l.GlobalPerHour, Window: time.Hour, Notices: true, Message: msgSMSGlobal},
	}
	caps := all[:0]
	for _, c := range all {
		if c.Limit > 0 && c.Window > 0 {
			caps = append(caps, c)
		}
	}
	return caps
}

// smsRetention returns how long SMS send records must be kept: as long as
// the longest window of caps can count them (0 when there are no caps).
func smsRetention(caps []SMSCap) time.Duration {
	var longest time.Duration
	for _, c := range caps {
		longest = max(longest, c.Window)
	}
	return longest
}

// CleanupSMS deletes the SMS send records that no cap of the configuration
// can count any more (older than its longest window), and the codes that
// expired as long ago, and returns how many rows went. It does nothing for
// a store that keeps no SMS records.
func (s *Service) CleanupSMS(ctx context.Context) (int64, error) {
	if s.smsStore == nil {
		return 0, nil
	}
	return s.smsStore.DeleteOldSMS(ctx, s.now().Add(-smsRetention(SMSCaps(s.cfg.SMSLimits))))
}
