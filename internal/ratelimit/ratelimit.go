// Package ratelimit throttles requests by string key (per IP, per account and
// IP, ...) with the generic cell rate algorithm (GCRA). Memory keeps the state
// in-process; Redis shares it across instances through redis_rate's atomic Lua
// script. Both give the same answers for the same sequence of calls.
//
// Second-factor lockout and SMS send caps are not here: they must hold across
// instances even without Redis, so they live in the database.
package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Limit allows Rate events per Period with bursts up to Burst (GCRA
// semantics): a fresh key may take Burst events at once, after which one more
// event fits every Period/Rate.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerMinute returns a Limit of rate events per minute with bursts up to burst.
func PerMinute(rate, burst int) Limit {
	return Limit{Rate: rate, Period: time.Minute, Burst: burst}
}

// PerHour returns a Limit of rate events per hour with bursts up to burst.
func PerHour(rate, burst int) Limit {
	return Limit{Rate: rate, Period: time.Hour, Burst: burst}
}

// interval is the GCRA emission interval: the time one event takes to decay.
func (l Limit) interval() time.Duration {
	return l.Period / time.Duration(l.Rate)
}

// check rejects a Limit or an n that no backend can answer meaningfully. An n
// above Burst could never be allowed, so it is a caller bug, not a refusal.
func (l Limit) check(n int) error {
	switch {
	case l.Rate < 1 || l.Burst < 1 || l.Period <= 0:
		return fmt.Errorf("ratelimit: invalid limit %+v", l)
	case l.interval() <= 0:
		return fmt.Errorf("ratelimit: invalid limit %+v: rate finer than 1ns", l)
	case n < 0 || n > l.Burst:
		return fmt.Errorf("ratelimit: n = %d outside [0, burst %d]", n, l.Burst)
	}
	return nil
}

// Result is the answer to one AllowN call.
type Result struct {
	// Allowed reports, for n > 0, that the n events fit and were recorded;
	// for n == 0, that one more event would fit now.
	Allowed bool
	// Remaining is how many more events would fit now, after recording the
	// n events of this call. It is 0 when not allowed.
	Remaining int
	// RetryAfter is 0 when allowed. When not allowed it is > 0: how long until
	// the refused call would fit, that is one more event for n == 0 or 1, and
	// n events for n > 1.
	RetryAfter time.Duration
}

// Limiter throttles events by key. Implementations are safe for concurrent
// use and decide each call atomically, so parallel requests cannot exceed a
// limit.
type Limiter interface {
	// AllowN records n events against key if they fit and reports whether
	// they did. n == 0 only reports the state (Allowed: one more event would
	// fit now) and never records. Callers throttling passwords check with
	// n == 0 before verifying and record with n == 1 only on a failed
	// attempt, so successful logins do not count. An invalid Limit, n < 0 or
	// n > Burst is an error.
	AllowN(ctx context.Context, key string, l Limit, n int) (Result, error)
	// Reset forgets key; a key that was never seen is not an error.
	Reset(ctx context.Context, key string) error
}

var (
	_ Limiter = (*Memory)(nil)
	_ Limiter = (*Redis)(nil)
)
