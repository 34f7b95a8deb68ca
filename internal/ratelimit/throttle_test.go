package ratelimit

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	th := Throttle{Limiter: NewMemory(func() time.Time { return now }), Limit: PerMinute(1, 3)}
	ctx := t.Context()
	for i := range 3 {
		if wait, err := th.Check(ctx, "k"); err != nil || wait != 0 {
			t.Fatalf("check %d: got wait %v, %v, want 0 before the burst is spent", i, wait, err)
		}
		if err := th.Fail(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	}
	wait, err := th.Check(ctx, "k")
	if err != nil || wait < time.Second || wait > time.Minute {
		t.Fatalf("got wait %v, %v, want between 1 s and 1 min after 3 failures", wait, err)
	}
	// Checking never records: the other key is untouched by all of it.
	for range 10 {
		if wait, _ := th.Check(ctx, "other"); wait != 0 {
			t.Fatalf("Check recorded an attempt: wait %v", wait)
		}
	}
	now = now.Add(time.Minute)
	if wait, _ := th.Check(ctx, "k"); wait != 0 {
		t.Errorf("after a minute got wait %v, want 0", wait)
	}
}

func TestPasswordThrottles(t *testing.T) {
	l := NewMemory(time.Now)
	pl := DefaultPasswordLimits()
	got := PasswordThrottles(l)
	for _, tc := range []struct {
		name string
		th   any
		want Limit
	}{
		{"IP", got.IP, pl.IP},
		{"AccountIP", got.AccountIP, pl.AccountIP},
		{"Account", got.Account, pl.Account},
	} {
		th, ok := tc.th.(Throttle)
		if !ok || th.Limiter != l || th.Limit != tc.want {
			t.Errorf("%s: got %+v, want a Throttle on the limiter at %+v", tc.name, tc.th, tc.want)
		}
	}
}
