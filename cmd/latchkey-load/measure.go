package main

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// result is what one scenario measured.
type result struct {
	Scenario      string         `json:"scenario"`
	Concurrency   int            `json:"concurrency"`
	Users         int            `json:"users"`
	SetupSeconds  float64        `json:"setup_seconds"`
	WallSeconds   float64        `json:"wall_seconds"`
	ActiveSeconds float64        `json:"active_seconds"`       // wall time minus waits for a fresh TOTP step
	PacedRate     float64        `json:"paced_rate,omitempty"` // --rate: requests scheduled per second (0: closed loop)
	Operations    int            `json:"operations"`
	Successes     int            `json:"successes"`
	PerSecond     float64        `json:"successes_per_second"` // successes / active seconds
	P50Ms         float64        `json:"p50_ms"`
	P99Ms         float64        `json:"p99_ms"`
	MaxMs         float64        `json:"max_ms"`
	Errors        map[string]int `json:"errors"`
	Memory        memoryReport   `json:"server_memory"`
	CPU           cpuUse         `json:"cpu"`
	ServerCPUMs   float64        `json:"server_cpu_ms_per_success,omitempty"` // server CPU time / successes
	Ceiling       *ceiling       `json:"argon2_ceiling,omitempty"`
	CeilingPct    float64        `json:"ceiling_percent,omitempty"`
	Replays       *replayReport  `json:"replays,omitempty"`
	LoadAvgStart  string         `json:"loadavg_start"`
	LoadAvgEnd    string         `json:"loadavg_end"`
	Target        string         `json:"target"`
	TargetMet     bool           `json:"target_met"`
	Notes         []string       `json:"notes,omitempty"`
}

// replayReport counts deliberate reuses of accepted TOTP codes.
type replayReport struct {
	Tried    int            `json:"tried"`
	Accepted int            `json:"accepted"` // must be 0
	Answers  map[string]int `json:"answers"`
}

// measurement is a running scenario: its recorder, memory sampler and clock.
type measurement struct {
	rec    *recorder
	mem    *memorySampler
	active intervals
	start  time.Time
	cpu    cpuSnapshot
	pid    int
	load   string
}

// begin starts measuring (after setup and, with --wait-quiet, once the
// machine is quiet).
func (lr *loadRun) begin(ctx context.Context) (*measurement, error) {
	if err := lr.waitQuiet(ctx); err != nil {
		return nil, err
	}
	return &measurement{
		rec:   newRecorder(),
		mem:   startMemorySampler(ctx, lr.cfg.pid, lr.c),
		start: time.Now(),
		cpu:   takeCPU(lr.cfg.pid),
		pid:   lr.cfg.pid,
		load:  loadAvg(),
	}, nil
}

// end stops measuring and fills the common fields of a result. If no active
// intervals were recorded, the active time is the wall time.
func (m *measurement) end(name string, concurrency, users int, setup time.Duration) *result {
	wall := time.Since(m.start)
	cpu := m.cpu.since(m.pid, runtime.NumCPU())
	memory := m.mem.finish()
	lat, ok, errs := m.rec.snapshot()
	s := summarize(lat)
	active := m.active.union()
	if active == 0 {
		active = wall
	}
	r := &result{
		Scenario: name, Concurrency: concurrency, Users: users,
		SetupSeconds: setup.Seconds(), WallSeconds: wall.Seconds(), ActiveSeconds: active.Seconds(),
		Operations: s.Count, Successes: ok, PerSecond: float64(ok) / active.Seconds(),
		P50Ms: ms(s.P50), P99Ms: ms(s.P99), MaxMs: ms(s.Max),
		Errors: errs, Memory: memory, CPU: cpu, LoadAvgStart: m.load, LoadAvgEnd: loadAvg(),
	}
	if ok > 0 {
		r.ServerCPUMs = 1000 * cpu.Server * wall.Seconds() / float64(ok)
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timed runs op and records its latency and outcome.
func (m *measurement) timed(op func() outcome) outcome {
	return m.timedFrom(time.Now(), op)
}

// timedFrom runs op and records its outcome and its latency counted from t0
// (a paced request's scheduled time: waiting to be sent counts).
func (m *measurement) timedFrom(t0 time.Time, op func() outcome) outcome {
	o := op()
	m.rec.record(time.Since(t0), o)
	return o
}

// pacer is an open-loop schedule: it hands out send times a fixed interval
// apart, whenever the workers come for them. A request's latency counts
// from its scheduled time, so when the server falls behind, the time a
// request waited for a free worker counts too (a closed loop would hide it:
// "coordinated omission").
type pacer struct {
	mu       sync.Mutex
	next     time.Time
	interval time.Duration
}

func newPacer(start time.Time, perSecond float64) *pacer {
	return &pacer{next: start, interval: time.Duration(float64(time.Second) / perSecond)}
}

// ticket returns the next scheduled send time.
func (p *pacer) ticket() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.next
	p.next = t.Add(p.interval)
	return t
}

// pauseUntil moves the schedule on to t if it is behind t. A scenario calls
// it when it waits on purpose (for the next TOTP step): the requests it did
// not send during the pause are not owed, and are not counted late.
func (p *pacer) pauseUntil(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next.Before(t) {
		p.next = t
	}
}

// runWorkers runs op on n workers until the deadline passes, ctx ends or op
// returns false, and waits for all of them. A request in flight at the
// deadline finishes (and counts); no new one starts. Requests still in
// flight requestTimeout after the deadline are cancelled.
func runWorkers(ctx context.Context, n int, deadline time.Time, op func(ctx context.Context, worker int) bool) {
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(requestTimeout))
	defer cancel()
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if !op(ctx, w) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// sleepUntil waits until t and reports whether the worker should go on: it
// returns false at once if t is past the deadline, so a scenario whose users
// are all used ends when its last request does instead of idling until the
// deadline (which would dilute its CPU figures).
func sleepUntil(ctx context.Context, t, deadline time.Time) bool {
	if !t.Before(deadline) {
		return false
	}
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return time.Now().Before(deadline)
	}
}
