package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// recorder collects the outcome and latency of every request of one
// scenario. It keeps every latency sample (a 10-second run at 10,000/s is
// 100,000 samples, under a megabyte), so percentiles are exact. It is safe
// for concurrent use.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration // of every finished request: successful, refused or failed
	successes int
	errors    map[string]int // outcome key -> count
}

func newRecorder() *recorder {
	return &recorder{errors: map[string]int{}}
}

// record adds one request that took d.
func (r *recorder) record(d time.Duration, o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies = append(r.latencies, d)
	if o.ok {
		r.successes++
		return
	}
	r.errors[o.key()]++
}

// latencySummary is the distribution of a set of latencies.
type latencySummary struct {
	Count int
	P50   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// summarize sorts samples in place and returns their p50, p99 and maximum.
func summarize(samples []time.Duration) latencySummary {
	slices.Sort(samples)
	s := latencySummary{Count: len(samples), P50: percentile(samples, 50), P99: percentile(samples, 99)}
	if len(samples) > 0 {
		s.Max = samples[len(samples)-1]
	}
	return s
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted samples by
// the nearest-rank method: the smallest sample such that at least p % of the
// samples are less than or equal to it. It is always one of the samples
// (never interpolated), 0 for no samples, the minimum for p <= 0 and the
// maximum for p >= 100.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// 1-based; the tiny subtraction keeps float error (99.9/100*1000 =
	// 999.0000000000001) from pushing an exact rank up by one.
	rank := int(math.Ceil(p/100*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// snapshot returns a copy of what was recorded so far.
func (r *recorder) snapshot() (latencies []time.Duration, successes int, errors map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	errors = make(map[string]int, len(r.errors))
	for k, v := range r.errors {
		errors[k] = v
	}
	return slices.Clone(r.latencies), r.successes, errors
}

// intervals is a set of time intervals whose union length is the "active"
// time of a scenario that may pause (waiting for the next TOTP step).
type intervals struct {
	mu   sync.Mutex
	list [][2]time.Time
}

// add records that work went on from start to end.
func (iv *intervals) add(start, end time.Time) {
	iv.mu.Lock()
	iv.list = append(iv.list, [2]time.Time{start, end})
	iv.mu.Unlock()
}

// union returns the total length covered by at least one interval.
func (iv *intervals) union() time.Duration {
	iv.mu.Lock()
	list := slices.Clone(iv.list)
	iv.mu.Unlock()
	return unionLength(list)
}

// unionLength returns the total length covered by the intervals.
func unionLength(list [][2]time.Time) time.Duration {
	slices.SortFunc(list, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	var total time.Duration
	var curStart, curEnd time.Time
	for i, in := range list {
		switch {
		case i == 0:
			curStart, curEnd = in[0], in[1]
		case in[0].After(curEnd):
			total += curEnd.Sub(curStart)
			curStart, curEnd = in[0], in[1]
		case in[1].After(curEnd):
			curEnd = in[1]
		}
	}
	if len(list) > 0 {
		total += curEnd.Sub(curStart)
	}
	return total
}
