package ratelimit

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// newMiniredis returns a Redis limiter on a fresh miniredis whose clock
// stands still until advanced. redis_rate reads the time with Redis TIME,
// which miniredis answers from SetTime; FastForward expires the keys.
func newMiniredis(tb testing.TB) (*Redis, *miniredis.Miniredis, func(time.Duration)) {
	tb.Helper()
	mr := miniredis.RunT(tb)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	mr.SetTime(now)
	// Fail fast: the Unavailable test wants the error at once, not after
	// go-redis's default 5 dial retries per call.
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1})
	tb.Cleanup(func() { client.Close() })
	advance := func(d time.Duration) {
		now = now.Add(d)
		mr.SetTime(now)
		mr.FastForward(d)
	}
	return NewRedis(client, "latchkey:rl:"), mr, advance
}

func TestRedis_Miniredis(t *testing.T) {
	testLimiter(t, func(t *testing.T) (Limiter, func(time.Duration)) {
		l, _, advance := newMiniredis(t)
		return l, advance
	})
}

// TestRedis_Real runs the suite against the Redis server at
// LATCHKEY_TEST_REDIS (host:port), on the real clock, under a random key
// prefix that is deleted afterwards.
func TestRedis_Real(t *testing.T) {
	addr := os.Getenv("LATCHKEY_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but LATCHKEY_TEST_REDIS is not: the real-Redis tests would not run")
		}
		t.Skip("LATCHKEY_TEST_REDIS is not set")
	}
	testLimiter(t, func(t *testing.T) (Limiter, func(time.Duration)) {
		client := redis.NewClient(&redis.Options{Addr: addr})
		if err := client.Ping(t.Context()).Err(); err != nil {
			t.Fatalf("ping Redis at %s: %v", addr, err)
		}
		prefix := "latchkey-test:" + rand.Text() + ":"
		t.Cleanup(func() {
			defer client.Close()
			ctx := context.Background() // t.Context is already canceled here
			iter := client.Scan(ctx, 0, "rate:"+prefix+"*", 100).Iterator()
			for iter.Next(ctx) {
				if err := client.Del(ctx, iter.Val()).Err(); err != nil {
					t.Errorf("clean up %s: %v", iter.Val(), err)
				}
			}
			if err := iter.Err(); err != nil {
				t.Errorf("clean up: %v", err)
			}
		})
		return NewRedis(client, prefix), time.Sleep
	})
}

func TestRedis_AllowN(t *testing.T) {
	t.Run("KeyNamespacedAndExpiring", func(t *testing.T) {
		l, mr, _ := newMiniredis(t)
		allowN(t, l, "ip:192.0.2.1", suiteLimit, 1)
		const stored = "rate:latchkey:rl:ip:192.0.2.1"
		if !mr.Exists(stored) {
			t.Fatalf("got keys %q, want %q", mr.Keys(), stored)
		}
		if got := mr.TTL(stored); got <= 0 || got > time.Second {
			t.Errorf("got TTL %v, want in (0, 1s]", got)
		}
	})
	t.Run("CheckStoresNothing", func(t *testing.T) {
		l, mr, _ := newMiniredis(t)
		allowN(t, l, "ip:192.0.2.1", suiteLimit, 0)
		if got := mr.Keys(); len(got) != 0 {
			t.Errorf("got keys %q, want none", got)
		}
	})
	t.Run("Unavailable", func(t *testing.T) {
		l, mr, _ := newMiniredis(t)
		mr.Close()
		for _, n := range []int{0, 1} {
			got, err := l.AllowN(t.Context(), "a", suiteLimit, n)
			if err == nil {
				t.Errorf("AllowN(%d) with Redis down: got nil error, want one", n)
			}
			if got.Allowed {
				t.Errorf("AllowN(%d) with Redis down: got allowed, want not", n)
			}
		}
		if err := l.Reset(t.Context(), "a"); err == nil {
			t.Errorf("Reset with Redis down: got nil error, want one")
		}
	})
}

func BenchmarkRedisAllowN(b *testing.B) {
	for _, n := range []int{0, 1} {
		b.Run(fmt.Sprintf("miniredis/n=%d", n), func(b *testing.B) {
			l, _, _ := newMiniredis(b)
			limit := PerMinute(600, 100)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.AllowN(b.Context(), "ip:192.0.2.1", limit, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
