package ratelimit

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	testLimiter(t, func(t *testing.T) (Limiter, func(time.Duration)) {
		clock := newFakeClock()
		return NewMemory(clock.Now), clock.Advance
	})
}

func TestMemory_Bounded(t *testing.T) {
	tests := []struct {
		name     string
		limit    Limit
		n        int
		wantSize func(got int) bool
		want     string
	}{
		{"LiveKeys", PerHour(1, 1), 1, func(got int) bool { return got > 0 && got <= 1024 }, "in (0, 1024]"},
		{"DecayingKeys", PerMinute(600, 1), 1, func(got int) bool { return got > 0 && got <= 1024 }, "in (0, 1024]"},
		{"ChecksOnly", PerHour(1, 1), 0, func(got int) bool { return got == 0 }, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			m := newMemory(clock.Now, 1024, 16)
			for i := range 50_000 {
				clock.Advance(time.Millisecond)
				allowN(t, m, "flood:"+strconv.Itoa(i), tc.limit, tc.n)
				if i%1000 == 0 {
					if got := m.size(); !tc.wantSize(got) {
						t.Fatalf("after %d keys: got %d entries, want %s", i+1, got, tc.want)
					}
				}
			}
			if got := m.size(); !tc.wantSize(got) {
				t.Errorf("got %d entries, want %s", got, tc.want)
			}
		})
	}
}

func TestMemory_EvictsDecayedFirst(t *testing.T) {
	clock := newFakeClock()
	m := newMemory(clock.Now, 8, 1)
	short := Limit{Rate: 1, Period: time.Second, Burst: 1}
	long := PerHour(1, 1)
	for i := range 4 {
		allowN(t, m, fmt.Sprint("short-", i), short, 1)
		allowN(t, m, fmt.Sprint("long-", i), long, 1)
	}
	clock.Advance(2 * time.Second) // the short keys have decayed
	for i := range 4 {
		allowN(t, m, fmt.Sprint("new-", i), long, 1)
	}
	if got, want := m.size(), 8; got != want {
		t.Errorf("got %d entries, want %d", got, want)
	}
	// Only decayed state was dropped: every live key is still throttled.
	for _, key := range []string{"long-0", "long-1", "long-2", "long-3", "new-0", "new-3"} {
		if got := allowN(t, m, key, long, 0); got.Allowed {
			t.Errorf("%s: got allowed, want still throttled", key)
		}
	}
}

func TestMemory_DropsEarliestWhenFull(t *testing.T) {
	clock := newFakeClock()
	m := newMemory(clock.Now, 8, 1)
	limit := PerHour(1, 1)
	for i := range 8 {
		allowN(t, m, fmt.Sprint("key-", i), limit, 1)
		clock.Advance(time.Minute)
	}
	allowN(t, m, "new", limit, 1) // nothing has decayed: one live entry must go
	if got, want := m.size(), 8; got != want {
		t.Errorf("got %d entries, want %d", got, want)
	}
	if got := allowN(t, m, "key-0", limit, 0); !got.Allowed {
		t.Errorf("key-0 (earliest to decay): got throttled, want forgotten")
	}
	for i := 1; i < 8; i++ {
		if got := allowN(t, m, fmt.Sprint("key-", i), limit, 0); got.Allowed {
			t.Errorf("key-%d: got allowed, want still throttled", i)
		}
	}
	if got := allowN(t, m, "new", limit, 0); got.Allowed {
		t.Errorf("new: got allowed, want throttled")
	}
}

func BenchmarkMemoryAllowN(b *testing.B) {
	limit := PerMinute(600, 100)
	benchmarks := []struct {
		name string
		keys int
	}{
		{"1kKeys", 1 << 10},
		{"DistinctKeys", 1 << 20}, // more keys than the cap: the eviction path
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			keys := make([]string, bm.keys)
			for i := range keys {
				keys[i] = "ip:" + strconv.Itoa(i)
			}
			m := NewMemory(time.Now)
			var next atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := keys[next.Add(1)%uint64(len(keys))]
					if _, err := m.AllowN(b.Context(), key, limit, 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// TestGCRA pins the exact arithmetic both backends follow (redis_rate's Lua
// scripts), which the shared suite checks only within a tolerance.
func TestGCRA(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	limit := PerMinute(6, 3) // one event decays every 10s; a burst is 30s
	tests := []struct {
		name    string
		tat     time.Time // zero: a fresh key
		n       int
		want    Result
		wantTAT time.Time
	}{
		{"FreshCheck", time.Time{}, 0, Result{Allowed: true, Remaining: 3}, now},
		{"FreshOne", time.Time{}, 1, Result{Allowed: true, Remaining: 2}, now.Add(10 * time.Second)},
		{"FreshBurst", time.Time{}, 3, Result{Allowed: true, Remaining: 0}, now.Add(30 * time.Second)},
		{"DecayedIsFresh", now.Add(-time.Hour), 1, Result{Allowed: true, Remaining: 2}, now.Add(10 * time.Second)},
		{"PartlyUsedCheck", now.Add(15 * time.Second), 0, Result{Allowed: true, Remaining: 1}, now.Add(15 * time.Second)},
		{"PartlyUsedOne", now.Add(15 * time.Second), 1, Result{Allowed: true, Remaining: 0}, now.Add(25 * time.Second)},
		{"PartlyUsedTwo", now.Add(15 * time.Second), 2, Result{RetryAfter: 5 * time.Second}, now.Add(15 * time.Second)},
		{"FullCheck", now.Add(30 * time.Second), 0, Result{RetryAfter: 10 * time.Second}, now.Add(30 * time.Second)},
		{"FullOne", now.Add(30 * time.Second), 1, Result{RetryAfter: 10 * time.Second}, now.Add(30 * time.Second)},
		{"FullThree", now.Add(30 * time.Second), 3, Result{RetryAfter: 30 * time.Second}, now.Add(30 * time.Second)},
		{"AlmostFullCheck", now.Add(21 * time.Second), 0, Result{RetryAfter: time.Second}, now.Add(21 * time.Second)},
		{"JustFitsOne", now.Add(20 * time.Second), 1, Result{Allowed: true, Remaining: 0}, now.Add(30 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, gotTAT := gcra(now, tc.tat, limit, tc.n)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.Allowed && tc.n > 0 && !gotTAT.Equal(tc.wantTAT) {
				t.Errorf("got new TAT now%+v, want now%+v", gotTAT.Sub(now), tc.wantTAT.Sub(now))
			}
		})
	}
}
