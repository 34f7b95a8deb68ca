package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The suite's default limit: 2 per 2 seconds with bursts of 3, so one event
// decays every second. That is short enough for the real-Redis run to sleep
// instead of faking time, and long enough that the wall time its calls take
// (slow under -race) stays well inside the margins below.
var (
	suiteLimit = Limit{Rate: 2, Period: 2 * time.Second, Burst: 3}
	interval   = suiteLimit.interval()
	slack      = interval / 10 // advance a little past a boundary, never onto it
	// retryTolerance absorbs the wall time that passes during the real-Redis
	// run. Exact values are pinned by TestGCRA.
	retryTolerance = interval / 5
)

// step is one call in a scenario.
type step struct {
	key     string        // "a" when empty
	advance time.Duration // the clock moves forward this much before the call
	reset   bool          // call Reset instead of AllowN
	n       int
	want    Result // RetryAfter is compared within retryTolerance
}

// testLimiter is the behaviour every Limiter must show. newLimiter returns a
// fresh limiter and a function that moves its clock forward.
func testLimiter(t *testing.T, newLimiter func(t *testing.T) (Limiter, func(time.Duration))) {
	t.Helper()
	refused := func(retryAfter time.Duration) Result { return Result{RetryAfter: retryAfter} }
	allowed := func(remaining int) Result { return Result{Allowed: true, Remaining: remaining} }

	tests := []struct {
		name  string
		limit Limit // suiteLimit when zero
		steps []step
	}{
		{
			name: "BurstThenRefused",
			steps: []step{
				{n: 1, want: allowed(2)},
				{n: 1, want: allowed(1)},
				{n: 1, want: allowed(0)},
				{n: 1, want: refused(interval)},
				// A refused call records nothing, so the wait does not grow.
				{n: 1, want: refused(interval)},
			},
		},
		{
			name: "CheckNeverRecords",
			steps: []step{
				{n: 0, want: allowed(3)},
				{n: 0, want: allowed(3)},
				{n: 0, want: allowed(3)},
				{n: 1, want: allowed(2)},
				{n: 0, want: allowed(2)},
				{n: 1, want: allowed(1)},
				{n: 1, want: allowed(0)},
				{n: 0, want: refused(interval)},
				{n: 0, want: refused(interval)},
				{advance: interval + slack, n: 0, want: allowed(1)},
				{n: 0, want: allowed(1)},
				{n: 1, want: allowed(0)},
				{n: 0, want: refused(interval - slack)},
			},
		},
		{
			// The password pattern: check, then record only failures.
			name: "OnlyFailuresCount",
			steps: []step{
				{n: 0, want: allowed(3)}, // success: nothing recorded
				{n: 0, want: allowed(3)}, // failure:
				{n: 1, want: allowed(2)},
				{n: 0, want: allowed(2)}, // success
				{n: 0, want: allowed(2)}, // failure:
				{n: 1, want: allowed(1)},
				{n: 0, want: allowed(1)}, // failure:
				{n: 1, want: allowed(0)},
				{n: 0, want: refused(interval)}, // refused before the password is checked
			},
		},
		{
			name: "RefillAfterTimePasses",
			steps: []step{
				{n: 1, want: allowed(2)},
				{n: 1, want: allowed(1)},
				{n: 1, want: allowed(0)},
				{advance: interval + slack, n: 1, want: allowed(0)},
				{n: 1, want: refused(interval - slack)},
				{advance: 3 * interval, n: 0, want: allowed(3)},
				{n: 3, want: allowed(0)},
			},
		},
		{
			name: "SeveralEvents",
			steps: []step{
				{n: 3, want: allowed(0)},
				{n: 0, want: refused(interval)},
				// Two events need two intervals to decay; one has passed.
				{advance: interval + slack, n: 2, want: refused(interval - slack)},
				{n: 1, want: allowed(0)},
			},
		},
		{
			name: "KeysIndependent",
			steps: []step{
				{key: "a", n: 3, want: allowed(0)},
				{key: "a", n: 1, want: refused(interval)},
				{key: "b", n: 1, want: allowed(2)},
				{key: "b", n: 0, want: allowed(2)},
				{key: "a", n: 0, want: refused(interval)},
				{key: "c", n: 0, want: allowed(3)},
			},
		},
		{
			name: "Reset",
			steps: []step{
				{n: 3, want: allowed(0)},
				{n: 1, want: refused(interval)},
				{key: "b", n: 1, want: allowed(2)},
				{reset: true},
				{n: 0, want: allowed(3)},
				{key: "b", n: 0, want: allowed(2)}, // other keys are untouched
				{n: 3, want: allowed(0)},
				{key: "never-seen", reset: true},
			},
		},
		{
			name:  "PerHour",
			limit: PerHour(60, 2),
			steps: []step{
				{n: 1, want: allowed(1)},
				{n: 1, want: allowed(0)},
				{n: 1, want: refused(time.Minute)},
				{n: 0, want: refused(time.Minute)},
			},
		},
		{
			name:  "PerMinute",
			limit: PerMinute(6, 1),
			steps: []step{
				{n: 0, want: allowed(1)},
				{n: 1, want: allowed(0)},
				{n: 0, want: refused(10 * time.Second)},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has its own limiter and clock
			limiter, advance := newLimiter(t)
			limit := tc.limit
			if limit == (Limit{}) {
				limit = suiteLimit
			}
			for i, s := range tc.steps {
				key := s.key
				if key == "" {
					key = "a"
				}
				if s.advance > 0 {
					advance(s.advance)
				}
				if s.reset {
					if err := limiter.Reset(t.Context(), key); err != nil {
						t.Fatalf("step %d: Reset(%q): %v", i, key, err)
					}
					continue
				}
				got, err := limiter.AllowN(t.Context(), key, limit, s.n)
				if err != nil {
					t.Fatalf("step %d: AllowN(%q, %d): %v", i, key, s.n, err)
				}
				checkResult(t, i, got, s.want)
			}
		})
	}

	t.Run("InvalidArguments", func(t *testing.T) {
		limiter, _ := newLimiter(t)
		tests := []struct {
			name  string
			limit Limit
			n     int
		}{
			{"NegativeN", suiteLimit, -1},
			{"NAboveBurst", suiteLimit, suiteLimit.Burst + 1},
			{"ZeroLimit", Limit{}, 1},
			{"ZeroRate", Limit{Rate: 0, Period: time.Second, Burst: 1}, 1},
			{"ZeroBurst", Limit{Rate: 1, Period: time.Second, Burst: 0}, 0},
			{"NegativePeriod", Limit{Rate: 1, Period: -time.Second, Burst: 1}, 1},
			{"RateFinerThanNanosecond", Limit{Rate: 2, Period: time.Nanosecond, Burst: 1}, 1},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := limiter.AllowN(t.Context(), "a", tc.limit, tc.n)
				if err == nil {
					t.Fatalf("AllowN(%+v, %d): got nil error, want one", tc.limit, tc.n)
				}
				if got.Allowed {
					t.Errorf("AllowN(%+v, %d): got Allowed with an error, want not allowed", tc.limit, tc.n)
				}
			})
		}
	})

	t.Run("ConcurrentNeverExceeds", func(t *testing.T) {
		limiter, _ := newLimiter(t)
		// One event decays per hour, so no refill happens during the test
		// even against a real clock.
		limit := PerHour(1, 20)
		const goroutines, callsEach = 50, 4
		var allowedCount atomic.Int64
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				<-start
				for range callsEach {
					if _, err := limiter.AllowN(t.Context(), "shared", limit, 0); err != nil {
						t.Errorf("AllowN(0): %v", err)
						return
					}
					res, err := limiter.AllowN(t.Context(), "shared", limit, 1)
					if err != nil {
						t.Errorf("AllowN(1): %v", err)
						return
					}
					if res.Allowed {
						allowedCount.Add(1)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if got, want := allowedCount.Load(), int64(limit.Burst); got != want {
			t.Errorf("allowed %d of %d concurrent events, want %d", got, goroutines*callsEach, want)
		}
	})
}

func checkResult(t *testing.T, step int, got, want Result) {
	t.Helper()
	if got.Allowed != want.Allowed || got.Remaining != want.Remaining {
		t.Errorf("step %d: got Allowed=%v Remaining=%d, want Allowed=%v Remaining=%d",
			step, got.Allowed, got.Remaining, want.Allowed, want.Remaining)
	}
	if want.RetryAfter == 0 {
		if got.RetryAfter != 0 {
			t.Errorf("step %d: got RetryAfter %v, want 0", step, got.RetryAfter)
		}
		return
	}
	if got.RetryAfter <= 0 || got.RetryAfter > want.RetryAfter+time.Millisecond ||
		got.RetryAfter < want.RetryAfter-retryTolerance {
		t.Errorf("step %d: got RetryAfter %v, want %v (-%v)", step, got.RetryAfter, want.RetryAfter, retryTolerance)
	}
}

// fakeClock is a clock that moves only when told; safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// allowN calls l.AllowN and fails the test on an error.
func allowN(tb testing.TB, l Limiter, key string, limit Limit, n int) Result {
	tb.Helper()
	res, err := l.AllowN(context.Background(), key, limit, n)
	if err != nil {
		tb.Fatalf("AllowN(%q, %d): %v", key, n, err)
	}
	return res
}
