package web_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// The tests in this file each prove one rule of docs/security.md ("Rules and
// the tests that prove them"): each fails when its rule is taken out of the
// code.

// readBarrier is a store whose RecoveryCode, once armed for n callers, holds
// every caller after its read until n callers have read. n concurrent uses
// of one recovery code then all compare against the same stored hash before
// any of them can swap it: the interleaving that a plain burst rarely
// produces, and the one only the compare-and-swap stops. Embedding the
// database keeps every other method, SMSStore included.
type readBarrier struct {
	*store.DB
	timeout time.Duration // how long a held reader waits at most

	mu      sync.Mutex
	want    int           // callers to hold; 0 lets every caller through
	arrived int           // callers held since arm
	all     chan struct{} // closed when want callers have read
}

// arm makes the next n readers wait for each other.
func (b *readBarrier) arm(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.want, b.arrived, b.all = n, 0, make(chan struct{})
}

// disarm lets every reader through again and returns how many were held.
func (b *readBarrier) disarm() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.want = 0
	return b.arrived
}

func (b *readBarrier) RecoveryCode(ctx context.Context, userID int64) (*auth.RecoveryCode, error) {
	rc, err := b.DB.RecoveryCode(ctx, userID)
	b.mu.Lock()
	if b.want == 0 {
		b.mu.Unlock()
		return rc, err
	}
	b.arrived++
	all := b.all
	if b.arrived == b.want {
		close(all)
	}
	b.mu.Unlock()
	// Bounded: if fewer than n readers ever come, the held ones go on after
	// the timeout and the test reports the shortfall instead of hanging.
	select {
	case <-all:
	case <-time.After(b.timeout):
	case <-ctx.Done():
	}
	return rc, err
}

// TestRecoveryCodeSingleUseInterleaved: n sessions present one recovery code
// and every one of them reads the stored hash before any swaps it; the
// compare-and-swap lets exactly one in (requirement D 28). On both
// databases: on PostgreSQL the n swaps really do run at once.
func TestRecoveryCodeSingleUseInterleaved(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dsn string) {
		t.Parallel()
		var barrier *readBarrier
		h := newHarness(t, dsn, withStore(func(db *store.DB) auth.Store {
			barrier = &readBarrier{DB: db, timeout: 20 * time.Second}
			return barrier
		}))
		_, rc, _ := h.totpUser(t, "olga@example.com")
		// Five: below the 10 failures that lock, so every loser answers 401.
		const n = 5
		reqs := make([]req, n)
		for i := range reqs {
			reqs[i] = req{method: "POST", path: "/api/v1/login/mfa", token: h.loginAAL1(t, "olga@example.com"),
				body: map[string]string{"method": "recovery_code", "code": rc}}
		}
		barrier.arm(n)
		rs := h.burst(reqs)
		if held := barrier.disarm(); held != n {
			t.Fatalf("%d of %d requests read the recovery code at the barrier, want all: the interleaving was not forced", held, n)
		}
		if got := countStatuses(t, rs); got["200"] != 1 || got["401 invalid_code"] != n-1 {
			t.Fatalf("got %v, want exactly one 200 and %d 401 invalid_code", got, n-1)
		}
		var fresh string
		for _, r := range rs {
			if r.status == 200 {
				fresh = r.str(t, "new_recovery_code")
			}
		}
		h.mfa(h.loginAAL1(t, "olga@example.com"), "recovery_code", rc).want(t, 401, "invalid_code")
		h.mfa(h.loginAAL1(t, "olga@example.com"), "recovery_code", fresh).want(t, 200)
	})
}
