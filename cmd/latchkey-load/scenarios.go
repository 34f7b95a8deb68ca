package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/totp"
)

// Scenario sizes and targets (from the issues that asked for each scenario).
const (
	sessionLogins          = 8    // sessions the session scenario cycles through
	defaultPlainUsers      = 64   // password-only users for login and flood
	defaultTOTPStepUsers   = 1500 // TOTP users for totp-step: ~3 hashes each to set up
	ceilingSamples         = 20   // sequential logins timed for the argon2 ceiling
	replayAttempts         = 20   // deliberate TOTP replays after mfa-login
	mfaLoginUsersPerSecond = 1.25 // mfa-login users per (ceiling/s × window s): headroom

	targetSessionRate  = 10000
	targetSessionP99   = 10 * time.Millisecond
	targetLoginPct     = 85
	targetFloodRSS     = 200 << 20
	targetMFALoginPct  = 80
	targetTOTPStepRate = 2000
	targetTOTPStepP99  = 15 * time.Millisecond
	targetTOTPStepRSS  = 100 << 20
)

// scenarioNames lists the scenarios in the order "all" runs them.
func scenarioNames() []string {
	return []string{"session", "login", "flood", "mfa-login", "totp-step"}
}

// ceiling is the argon2id throughput ceiling of the server, measured in this
// run: cores / mean latency of sequential logins.
type ceiling struct {
	PerSecond float64       `json:"per_second"`
	Mean      time.Duration `json:"mean_ns"` // of one sequential login
	Samples   int           `json:"samples"`
	Cores     int           `json:"cores"`
	// ServerCPU is the server's CPU time per sequential login (with --pid).
	// It can exceed Mean: the garbage collector runs on the other cores.
	ServerCPU time.Duration `json:"server_cpu_ns,omitempty"`
}

// runSession measures GET /api/v1/session, the call every application makes
// on every request, over a few sessions.
func (lr *loadRun) runSession(ctx context.Context) (*result, error) {
	n := sessionLogins
	if lr.cfg.users > 0 {
		n = lr.cfg.users
	}
	setupStart := time.Now()
	if _, err := lr.ensurePlainUsers(ctx, n); err != nil {
		return nil, err
	}
	tokens := make([]string, n)
	err := forEach(ctx, n, lr.cfg.concurrency, func(ctx context.Context, i int) error {
		a, o := lr.c.login(ctx, lr.plain[i], lr.password)
		tokens[i] = a.SessionToken
		return o.failed("login")
	})
	if err != nil {
		return nil, err
	}
	setup := time.Since(setupStart)

	m, err := lr.begin(ctx)
	if err != nil {
		return nil, err
	}
	// Worker w always asks with session w mod n, reusing one request: this
	// keeps the tool's cost per request (which shares the cores with the
	// server) as low as net/http allows.
	reqs := make([]*http.Request, lr.cfg.concurrency)
	runWorkers(ctx, lr.cfg.concurrency, m.start.Add(lr.cfg.duration), func(ctx context.Context, w int) bool {
		if reqs[w] == nil {
			req, err := lr.c.newRequest(ctx, http.MethodGet, "/api/v1/session", tokens[w%len(tokens)], nil)
			if err != nil {
				m.rec.record(0, outcome{err: err})
				return false
			}
			reqs[w] = req
		}
		m.timed(func() outcome { return lr.c.send(reqs[w], nil, http.StatusOK) })
		return true
	})
	r := m.end("session", lr.cfg.concurrency, n, setup)
	r.Target = fmt.Sprintf(">= %d/s at concurrency 32 with p99 < %v", targetSessionRate, targetSessionP99)
	r.TargetMet = r.PerSecond >= targetSessionRate && r.P99Ms < ms(targetSessionP99) && len(r.Errors) == 0
	return r, nil
}

// measureCeiling times sequential logins (after two warm-up ones) and
// derives the argon2id ceiling: with one hash per core at a time, the server
// can complete at most cores / mean-latency logins per second. It is
// measured once per run.
func (lr *loadRun) measureCeiling(ctx context.Context) (*ceiling, error) {
	if lr.ceiling != nil {
		return lr.ceiling, nil
	}
	if _, err := lr.ensurePlainUsers(ctx, defaultPlainUsers); err != nil {
		return nil, err
	}
	if err := lr.waitQuiet(ctx); err != nil {
		return nil, err
	}
	var total time.Duration
	var cpu0 cpuSnapshot
	for i := range ceilingSamples + 2 {
		if i == 2 { // after two warm-up logins
			cpu0 = takeCPU(lr.cfg.pid)
		}
		t0 := time.Now()
		_, o := lr.c.login(ctx, lr.plain[i%len(lr.plain)], lr.password)
		d := time.Since(t0)
		if err := o.failed("login (ceiling)"); err != nil {
			return nil, err
		}
		if i >= 2 {
			total += d
		}
	}
	cpu1 := takeCPU(lr.cfg.pid)
	cores := runtime.NumCPU()
	mean := total / ceilingSamples
	c := &ceiling{PerSecond: float64(cores) / mean.Seconds(), Mean: mean, Samples: ceilingSamples, Cores: cores}
	if lr.cfg.pid > 0 {
		c.ServerCPU = (cpu1.server - cpu0.server) / ceilingSamples
	}
	lr.ceiling = c
	fmt.Fprintf(lr.log, "  argon2 ceiling: %d sequential logins, mean %.1f ms -> %d cores / mean = %.1f logins/s",
		ceilingSamples, ms(mean), cores, c.PerSecond)
	if c.ServerCPU > 0 {
		fmt.Fprintf(lr.log, " (server CPU %.1f ms per login)", ms(c.ServerCPU))
	}
	fmt.Fprintln(lr.log)
	return c, nil
}

// runLogin measures password logins with correct passwords over many users
// at the configured concurrency, against the argon2id ceiling.
func (lr *loadRun) runLogin(ctx context.Context) (*result, error) {
	n := defaultPlainUsers
	if lr.cfg.users > 0 {
		n = lr.cfg.users
	}
	setup, err := lr.ensurePlainUsers(ctx, n)
	if err != nil {
		return nil, err
	}
	ceil, err := lr.measureCeiling(ctx)
	if err != nil {
		return nil, err
	}

	m, err := lr.begin(ctx)
	if err != nil {
		return nil, err
	}
	var next atomic.Uint64
	runWorkers(ctx, lr.cfg.concurrency, m.start.Add(lr.cfg.duration), func(ctx context.Context, _ int) bool {
		email := lr.plain[next.Add(1)%uint64(n)]
		m.timed(func() outcome {
			_, o := lr.c.login(ctx, email, lr.password)
			return o
		})
		return true
	})
	r := m.end("login", lr.cfg.concurrency, n, setup)
	r.Ceiling, r.CeilingPct = ceil, 100*r.PerSecond/ceil.PerSecond
	r.Target = fmt.Sprintf(">= %d %% of the argon2 ceiling", targetLoginPct)
	r.TargetMet = r.CeilingPct >= targetLoginPct
	return r, nil
}

// runFlood releases floodSize sign-ins at once and reports the server's
// peak memory and the answers: 200, or 429 rate_limited from the hashing
// queue. Any other answer is an error.
func (lr *loadRun) runFlood(ctx context.Context) (*result, error) {
	n := defaultPlainUsers
	if lr.cfg.users > 0 {
		n = lr.cfg.users
	}
	setup, err := lr.ensurePlainUsers(ctx, n)
	if err != nil {
		return nil, err
	}
	size := lr.cfg.floodSize

	m, err := lr.begin(ctx)
	if err != nil {
		return nil, err
	}
	release := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(size)
	for i := range size {
		email := lr.plain[i%n]
		done.Go(func() {
			ready.Done()
			<-release
			m.timed(func() outcome {
				_, o := lr.c.login(ctx, email, lr.password)
				return o
			})
		})
	}
	ready.Wait()
	released := time.Now()
	close(release)
	done.Wait()
	m.active.add(released, time.Now())
	r := m.end("flood", size, n, setup)
	lr.c.closeIdle()

	limited := r.Errors["429 rate_limited"]
	others := r.Operations - r.Successes - limited
	r.Notes = append(r.Notes, fmt.Sprintf("%d sign-ins released together: %d answered 200, %d answered 429 rate_limited, %d other", size, r.Successes, limited, others))
	peak := max(r.Memory.PeakRSS, r.Memory.HWM)
	r.Target = fmt.Sprintf("server peak RSS < %d MiB; only 200 or 429 rate_limited", targetFloodRSS>>20)
	r.TargetMet = peak > 0 && peak < targetFloodRSS && others == 0
	if r.Memory.HWM > 0 {
		r.Notes = append(r.Notes, "peak compared with the target: the higher of the sampled VmRSS and VmHWM (VmHWM is the peak since the server started)")
	}
	return r, nil
}

// acceptedCode is a TOTP code the server accepted, kept for replay attempts.
type acceptedCode struct {
	user *totpUser
	code string
	step int64
}

// runMFALogin measures full sign-ins with a TOTP code (password step, then
// POST /api/v1/login/mfa) against the argon2id ceiling, then replays codes
// that were just accepted on fresh aal1 sessions: none may be accepted.
func (lr *loadRun) runMFALogin(ctx context.Context) (*result, error) {
	ceil, err := lr.measureCeiling(ctx)
	if err != nil {
		return nil, err
	}
	// Each user passes one TOTP check per 30-s step, so the run needs about
	// ceiling × (the part of the window inside one step) users.
	n := lr.cfg.users
	if n <= 0 {
		window := min(lr.cfg.duration, totp.Period*time.Second).Seconds()
		n = max(defaultPlainUsers, int(math.Ceil(ceil.PerSecond*window*mfaLoginUsersPerSecond)))
	}
	fmt.Fprintf(lr.log, "  setting up %d users with an authenticator app...\n", n)
	setup, err := lr.ensureTOTPUsers(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := lr.waitForFreshStep(ctx); err != nil {
		return nil, err
	}

	m, err := lr.begin(ctx)
	if err != nil {
		return nil, err
	}
	var recentMu sync.Mutex
	var recent []acceptedCode // the latest accepted codes, newest last
	var waits atomic.Int64
	runWorkers(ctx, lr.cfg.concurrency, m.start.Add(lr.cfg.duration), func(ctx context.Context, _ int) bool {
		u, wait := lr.totp.take(time.Now())
		if u == nil {
			waits.Add(1)
			return sleepUntil(ctx, time.Now().Add(wait), m.start.Add(lr.cfg.duration))
		}
		step, code := int64(-1), ""
		t0 := time.Now()
		o := m.timed(func() outcome {
			a, o := lr.c.login(ctx, u.email, lr.password)
			if !o.ok {
				return o
			}
			if !a.MFARequired {
				return outcome{status: o.status, err: fmt.Errorf("login did not ask for a second factor")}
			}
			step = totp.Step(time.Now())
			code = totp.CodeAt(u.secret, step)
			_, o = lr.c.loginMFA(ctx, a.SessionToken, code)
			return o
		})
		m.active.add(t0, time.Now())
		lr.totp.release(u, step)
		if o.ok {
			recentMu.Lock()
			recent = append(recent, acceptedCode{u, code, step})
			if len(recent) > 4*replayAttempts {
				recent = append(recent[:0], recent[len(recent)-2*replayAttempts:]...)
			}
			recentMu.Unlock()
		}
		return true
	})
	r := m.end("mfa-login", lr.cfg.concurrency, n, setup)
	r.Ceiling, r.CeilingPct = ceil, 100*r.PerSecond/ceil.PerSecond
	if w := waits.Load(); w > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d times a worker found every user used in the current step, and waited for the next one (not counted as active time) or stopped if it begins after --duration", w))
	}
	r.Replays = lr.replayCodes(ctx, recent)
	r.Target = fmt.Sprintf(">= %d %% of the argon2 ceiling; 0 replays accepted", targetMFALoginPct)
	r.TargetMet = r.CeilingPct >= targetMFALoginPct && r.Replays.Tried > 0 && r.Replays.Accepted == 0
	return r, nil
}

// replayCodes signs each user of the newest accepted codes in again with
// the password and offers the code that was just accepted. Only codes still
// inside the server's time window (this step or the one before) are
// replayed, so a refusal can only come from replay protection.
func (lr *loadRun) replayCodes(ctx context.Context, recent []acceptedCode) *replayReport {
	rep := &replayReport{Answers: map[string]int{}}
	cur := totp.Step(time.Now())
	seen := map[*totpUser]bool{}
	for i := len(recent) - 1; i >= 0 && rep.Tried < replayAttempts; i-- {
		ac := recent[i]
		if seen[ac.user] || ac.step < cur-1 {
			continue
		}
		seen[ac.user] = true
		a, o := lr.c.login(ctx, ac.user.email, lr.password)
		if !o.ok || !a.MFARequired {
			rep.Answers["login failed: "+o.key()]++
			continue
		}
		rep.Tried++
		_, o = lr.c.loginMFA(ctx, a.SessionToken, ac.code)
		if o.ok {
			rep.Accepted++
			rep.Answers["200 accepted (replay!)"]++
			continue
		}
		rep.Answers[o.key()]++
	}
	return rep
}

// waitForFreshStep waits until every TOTP user can be used (the step of
// their enrolment or last use is over), so a measurement starts with the
// whole pool.
func (lr *loadRun) waitForFreshStep(ctx context.Context) error {
	at := lr.totp.readyAt()
	if d := time.Until(at); d > 0 {
		fmt.Fprintf(lr.log, "  waiting %.1f s for the next TOTP step (every code of the current one is used)\n", d.Seconds())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	return nil
}

// runTOTPStep measures step-up by TOTP (POST /api/v1/me/reauth) on signed-in
// aal2 sessions. Each user can pass one check per 30-s step, so a run does
// at most (users) verifications per step; when every user has been used in
// the current step, workers wait for the next one and the rate is taken over
// the active time only.
func (lr *loadRun) runTOTPStep(ctx context.Context) (*result, error) {
	n := lr.cfg.users
	if n <= 0 {
		n = defaultTOTPStepUsers
	}
	fmt.Fprintf(lr.log, "  setting up %d users with an authenticator app...\n", n)
	setup, err := lr.ensureTOTPUsers(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := lr.waitForFreshStep(ctx); err != nil {
		return nil, err
	}

	m, err := lr.begin(ctx)
	if err != nil {
		return nil, err
	}
	var stepsMu sync.Mutex
	steps := map[int64]int{} // successes per time step
	var waits atomic.Int64
	var pace *pacer
	if lr.cfg.rate > 0 {
		pace = newPacer(m.start, lr.cfg.rate)
	}
	deadline := m.start.Add(lr.cfg.duration)
	runWorkers(ctx, lr.cfg.concurrency, deadline, func(ctx context.Context, _ int) bool {
		var scheduled time.Time
		if pace != nil {
			scheduled = pace.ticket()
			if !sleepUntil(ctx, scheduled, deadline) {
				return false
			}
		}
		u, wait := lr.totp.take(time.Now())
		if u == nil {
			waits.Add(1)
			if pace != nil {
				pace.pauseUntil(time.Now().Add(wait))
			}
			return sleepUntil(ctx, time.Now().Add(wait), deadline)
		}
		t0 := time.Now()
		step := totp.Step(t0)
		if pace != nil {
			t0 = scheduled
		}
		o := m.timedFrom(t0, func() outcome {
			return lr.c.call(ctx, http.MethodPost, "/api/v1/me/reauth", u.token,
				map[string]string{"method": "totp", "code": totp.CodeAt(u.secret, step)}, nil, http.StatusOK)
		})
		m.active.add(t0, time.Now())
		lr.totp.release(u, step)
		if o.ok {
			stepsMu.Lock()
			steps[step]++
			stepsMu.Unlock()
		}
		return true
	})
	r := m.end("totp-step", lr.cfg.concurrency, lr.totp.size(), setup)
	r.Notes = append(r.Notes, fmt.Sprintf("%d users: at most %d verifications per 30-s step; verifications fell in %d step(s)", lr.totp.size(), lr.totp.size(), len(steps)))
	if w := waits.Load(); w > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d times a worker found every user used in the current step, and waited for the next one or stopped if it begins after --duration. The rate is successes / active time (%.2f s of %.2f s wall); successes / wall time = %.0f/s",
			w, r.ActiveSeconds, r.WallSeconds, float64(r.Successes)/r.WallSeconds))
	}
	if pace != nil {
		r.PacedRate = lr.cfg.rate
		r.Notes = append(r.Notes, fmt.Sprintf("paced: one verification scheduled every %v (%.0f/s), at most %d in flight; latency counts from the scheduled time",
			pace.interval, lr.cfg.rate, lr.cfg.concurrency))
	}
	r.Target = fmt.Sprintf(">= %d/s at concurrency 32 with p99 < %v; server RSS < %d MiB", targetTOTPStepRate, targetTOTPStepP99, targetTOTPStepRSS>>20)
	r.TargetMet = r.PerSecond >= targetTOTPStepRate && r.P99Ms < ms(targetTOTPStepP99) &&
		r.Memory.PeakRSS > 0 && r.Memory.PeakRSS < targetTOTPStepRSS && len(r.Errors) == 0
	return r, nil
}
