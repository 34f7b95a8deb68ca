package ratelimit

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// Throttle counts failed attempts under a key against one Limit: Check
// never records, Fail records one failure, so successes never count.
type Throttle struct {
	Limiter Limiter
	Limit   Limit
}

// Check returns how long key must wait before another attempt (0: go ahead).
func (t Throttle) Check(ctx context.Context, key string) (time.Duration, error) {
	res, err := t.Limiter.AllowN(ctx, key, t.Limit, 0)
	if err != nil || res.Allowed {
		return 0, err
	}
	return max(res.RetryAfter, time.Second), nil
}

// Fail records one failed attempt against key.
func (t Throttle) Fail(ctx context.Context, key string) error {
	_, err := t.Limiter.AllowN(ctx, key, t.Limit, 1)
	return err
}

// PasswordLimits are the limits on failed password attempts.
type PasswordLimits struct {
	IP        Limit // one IP, all accounts
	AccountIP Limit // one account from one IP
	Account   Limit // one account from IPs that never signed in to it
}

// DefaultPasswordLimits returns the password throttles: per IP 30 failures at once, then one a minute;
// per account and IP 10 at once, then one per 6 minutes; per account from
// unknown IPs 20 at once, then one per 2 minutes, which slows guessing spread
// over many IPs while the real user's known IPs are exempt.
func DefaultPasswordLimits() PasswordLimits {
	return PasswordLimits{IP: PerHour(60, 30), AccountIP: PerHour(10, 10), Account: PerHour(30, 20)}
}

// PasswordThrottles are the password-attempt throttles on l at
// DefaultPasswordLimits: what the server runs with, and so what its tests
// run with. Only failures count.
func PasswordThrottles(l Limiter) auth.Throttles {
	pl := DefaultPasswordLimits()
	return auth.Throttles{
		IP:        Throttle{Limiter: l, Limit: pl.IP},
		AccountIP: Throttle{Limiter: l, Limit: pl.AccountIP},
		Account:   Throttle{Limiter: l, Limit: pl.Account},
	}
}
