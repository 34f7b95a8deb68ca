package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter whose state lives in Redis, so every instance sharing
// the Redis server shares the throttles. Each call is one run of redis_rate's
// GCRA Lua script, which Redis executes atomically, on Redis's own clock.
//
// A Redis failure is returned as an error, never taken as "allowed": the
// caller decides, and Latchkey fails closed.
type Redis struct {
	limiter *redis_rate.Limiter
	prefix  string
}

// NewRedis returns a Limiter backed by client. prefix namespaces the keys
// (for example "latchkey:rl:"); redis_rate adds its own "rate:", so key k is
// stored as "rate:" + prefix + k, with an expiry at which its state has
// fully decayed.
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{limiter: redis_rate.NewLimiter(client), prefix: prefix}
}

// AllowN implements Limiter.
func (r *Redis) AllowN(ctx context.Context, key string, l Limit, n int) (Result, error) {
	if err := l.check(n); err != nil {
		return Result{}, err
	}
	limit := redis_rate.Limit{Rate: l.Rate, Burst: l.Burst, Period: l.Period}
	if n == 0 {
		// redis_rate's AllowN with n == 0 never refuses and always reports
		// Allowed == 0, full or not. AllowAtMost with n == 0 refuses when
		// not even one event fits, with the right RetryAfter, and leaves
		// the stored state as it was.
		res, err := r.limiter.AllowAtMost(ctx, r.prefix+key, limit, 0)
		if err != nil {
			return Result{}, fmt.Errorf("ratelimit: redis check: %w", err)
		}
		return result(res.Remaining >= 1, res), nil
	}
	res, err := r.limiter.AllowN(ctx, r.prefix+key, limit, n)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis allow: %w", err)
	}
	return result(res.Allowed == n, res), nil
}

// Reset implements Limiter.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.limiter.Reset(ctx, r.prefix+key); err != nil {
		return fmt.Errorf("ratelimit: redis reset: %w", err)
	}
	return nil
}

func result(allowed bool, res *redis_rate.Result) Result {
	if allowed {
		return Result{Allowed: true, Remaining: res.Remaining}
	}
	// The script computes in float seconds; right at the boundary the
	// retry time can round to zero or below, which callers must never see.
	return Result{RetryAfter: max(res.RetryAfter, time.Microsecond)}
}
