package main

import (
	"context"
	"encoding/base32"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/totp"
)

// setupRetries is how often a setup call answered 429 (the server's hashing
// queue is full) is retried, a second apart, before setup fails.
const setupRetries = 10

// totpUser is a user with an authenticator app enrolled by the tool.
type totpUser struct {
	email  string
	secret []byte
	token  string // an aal2 session (the setup login), for step-up calls

	// Guarded by userPool.mu.
	lastStep int64 // the latest time step whose code the server consumed
	busy     bool  // a worker is using this user
}

// userPool hands out TOTP users so that no (user, time step) pair is used
// twice: the server accepts each code once (replay protection), so a user
// can pass one TOTP check per 30-second step. It is safe for concurrent use.
type userPool struct {
	mu    sync.Mutex
	users []*totpUser
	next  int // where the next search starts (round robin)
}

// take returns a user who is not in use and whose code for the step of now
// has not been used yet. If there is none, it returns nil and how long until
// the next step begins (when every idle user is available again).
func (p *userPool) take(now time.Time) (*totpUser, time.Duration) {
	step := totp.Step(now)
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.users)
	for i := range n {
		j := (p.next + i) % n
		u := p.users[j]
		if !u.busy && u.lastStep < step {
			u.busy = true
			p.next = (j + 1) % n
			return u, 0
		}
	}
	nextStart := time.Unix((step+1)*totp.Period, 0)
	return nil, max(nextStart.Sub(now), time.Millisecond)
}

// release gives u back; usedStep is the step of the code the server just
// checked (or -1 if no code was sent).
func (p *userPool) release(u *totpUser, usedStep int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u.lastStep = max(u.lastStep, usedStep)
	u.busy = false
}

// readyAt returns when every user's next code becomes usable: the start of
// the step after the latest one consumed (by enrolment or by use).
func (p *userPool) readyAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var last int64 = -1
	for _, u := range p.users {
		last = max(last, u.lastStep)
	}
	return time.Unix((last+1)*totp.Period, 0)
}

// size returns how many users the pool holds.
func (p *userPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.users)
}

// add appends users.
func (p *userPool) add(users []*totpUser) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users = append(p.users, users...)
}

// forEach calls fn(ctx, i) for i in [0, n) on up to workers goroutines. The
// first error cancels the rest and is returned.
func forEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && err != context.Canceled {
		return err
	}
	return ctx.Err()
}

// retryBusy repeats call while the server answers 429 rate_limited (the
// hashing queue is full), up to setupRetries times.
func retryBusy(ctx context.Context, call func() outcome) outcome {
	for i := 0; ; i++ {
		o := call()
		if o.ok || o.status != http.StatusTooManyRequests || o.code != "rate_limited" || i == setupRetries {
			return o
		}
		select {
		case <-ctx.Done():
			return outcome{err: ctx.Err()}
		case <-time.After(time.Second):
		}
	}
}

// email returns the address of the tool's i-th user of a kind in this run.
func (lr *loadRun) email(kind string, i int) string {
	return fmt.Sprintf("load-%s-%s-%d@load.test", lr.runID, kind, i)
}

// ensurePlainUsers creates password-only users until there are n, and
// returns how long that took.
func (lr *loadRun) ensurePlainUsers(ctx context.Context, n int) (time.Duration, error) {
	have := len(lr.plain)
	if have >= n {
		return 0, nil
	}
	start := time.Now()
	emails := make([]string, n-have)
	err := forEach(ctx, len(emails), lr.cfg.concurrency, func(ctx context.Context, i int) error {
		email := lr.email("pw", have+i)
		o := retryBusy(ctx, func() outcome { return lr.c.createUser(ctx, email, lr.password) })
		if err := o.failed("create user"); err != nil {
			return err
		}
		emails[i] = email
		return nil
	})
	if err != nil {
		return 0, err
	}
	lr.plain = append(lr.plain, emails...)
	return time.Since(start), nil
}

// ensureTOTPUsers creates users with an authenticator app until the pool
// holds n, and returns how long that took. Each user costs three password
// hashes on the server (create, login, password step-up), so this runs
// concurrently and is reported apart from any measurement.
func (lr *loadRun) ensureTOTPUsers(ctx context.Context, n int) (time.Duration, error) {
	have := lr.totp.size()
	if have >= n {
		return 0, nil
	}
	start := time.Now()
	users := make([]*totpUser, n-have)
	var done atomic.Int64
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	stopProgress := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopProgress:
				return
			case <-progress.C:
				fmt.Fprintf(lr.log, "  setup: %d/%d users with an authenticator app (%.0f s)\n",
					done.Load(), len(users), time.Since(start).Seconds())
			}
		}
	}()
	err := forEach(ctx, len(users), lr.cfg.concurrency, func(ctx context.Context, i int) error {
		u, err := lr.enrollTOTPUser(ctx, lr.email("totp", have+i))
		if err != nil {
			return err
		}
		users[i] = u
		done.Add(1)
		return nil
	})
	close(stopProgress)
	if err != nil {
		return 0, err
	}
	lr.totp.add(users)
	return time.Since(start), nil
}

// enrollTOTPUser creates a user and enrols an authenticator app the way a
// person would: sign in, step up with the password, start the enrolment,
// confirm it with a code. The confirming code's step is consumed by the
// server, so the user's first TOTP sign-in must wait for the next step; the
// pool knows this from lastStep.
func (lr *loadRun) enrollTOTPUser(ctx context.Context, email string) (*totpUser, error) {
	c := lr.c
	if o := retryBusy(ctx, func() outcome { return c.createUser(ctx, email, lr.password) }); !o.ok {
		return nil, o.failed("create user")
	}
	var a loginAnswer
	o := retryBusy(ctx, func() outcome {
		var o outcome
		a, o = c.login(ctx, email, lr.password)
		return o
	})
	if !o.ok {
		return nil, o.failed("login")
	}
	if a.AAL != 2 {
		return nil, fmt.Errorf("login of a new user without MFA gave aal %d, want 2", a.AAL)
	}
	o = retryBusy(ctx, func() outcome {
		return c.call(ctx, http.MethodPost, "/api/v1/me/reauth", a.SessionToken,
			map[string]string{"method": "password", "password": lr.password}, nil, http.StatusOK)
	})
	if !o.ok {
		return nil, o.failed("step up with password")
	}
	var enrol struct {
		Secret string `json:"secret"`
	}
	if o := c.call(ctx, http.MethodPost, "/api/v1/me/totp", a.SessionToken, struct{}{}, &enrol, http.StatusCreated); !o.ok {
		return nil, o.failed("start TOTP enrolment")
	}
	// The server shows the secret as base32 without padding.
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enrol.Secret)
	if err != nil {
		return nil, fmt.Errorf("start TOTP enrolment: secret is not base32: %w", err)
	}
	step := totp.Step(time.Now())
	o = c.call(ctx, http.MethodPost, "/api/v1/me/totp/confirm", a.SessionToken,
		map[string]string{"code": totp.CodeAt(secret, step)}, nil, http.StatusOK)
	if !o.ok {
		return nil, o.failed("confirm TOTP enrolment")
	}
	return &totpUser{email: email, secret: secret, token: a.SessionToken, lastStep: step}, nil
}
