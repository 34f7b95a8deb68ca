package main

import (
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	thousand := make([]int, 1000)
	for i := range thousand {
		thousand[i] = i + 1
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample p50", ms(7), 50, 7 * time.Millisecond},
		{"one sample p99", ms(7), 99, 7 * time.Millisecond},
		{"two samples p50 is the lower", ms(1, 2), 50, 1 * time.Millisecond},
		{"two samples p51 is the upper", ms(1, 2), 51, 2 * time.Millisecond},
		{"1..100 p50", ms(hundred...), 50, 50 * time.Millisecond},
		{"1..100 p99", ms(hundred...), 99, 99 * time.Millisecond},
		{"1..100 p100", ms(hundred...), 100, 100 * time.Millisecond},
		{"1..1000 p99", ms(thousand...), 99, 990 * time.Millisecond},
		{"1..1000 p99.9", ms(thousand...), 99.9, 999 * time.Millisecond},
		{"p0 is the minimum", ms(3, 4, 5), 0, 3 * time.Millisecond},
		{"above 100 is the maximum", ms(3, 4, 5), 150, 5 * time.Millisecond},
		{"10 samples p99 is the maximum", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.samples, tc.p); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	// Unsorted input: summarize sorts it.
	samples := make([]time.Duration, 0, 200)
	for i := 200; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Microsecond)
	}
	got := summarize(samples)
	want := latencySummary{Count: 200, P50: 100 * time.Microsecond, P99: 198 * time.Microsecond, Max: 200 * time.Microsecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if !slices.IsSorted(samples) {
		t.Error("samples not sorted in place")
	}
	if got := summarize(nil); got != (latencySummary{}) {
		t.Errorf("summarize(nil) = %+v, want zero", got)
	}
}

func TestRecorder(t *testing.T) {
	r := newRecorder()
	r.record(time.Millisecond, outcome{ok: true, status: 200})
	r.record(2*time.Millisecond, outcome{status: 429, code: "rate_limited"})
	r.record(3*time.Millisecond, outcome{status: 429, code: "rate_limited"})
	r.record(4*time.Millisecond, outcome{status: 500, code: "internal"})
	lat, ok, errs := r.snapshot()
	if len(lat) != 4 || ok != 1 {
		t.Errorf("got %d samples, %d successes, want 4, 1", len(lat), ok)
	}
	if errs["429 rate_limited"] != 2 || errs["500 internal"] != 1 || len(errs) != 2 {
		t.Errorf("errors = %v, want 2 × 429 rate_limited and 1 × 500 internal", errs)
	}
}

func TestUnionLength(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name string
		list [][2]time.Time
		want time.Duration
	}{
		{"none", nil, 0},
		{"one", [][2]time.Time{{at(0), at(2)}}, 2 * time.Second},
		{"overlapping", [][2]time.Time{{at(1), at(3)}, {at(0), at(2)}}, 3 * time.Second},
		{"nested", [][2]time.Time{{at(0), at(5)}, {at(1), at(2)}}, 5 * time.Second},
		{"gap", [][2]time.Time{{at(0), at(1)}, {at(10), at(12)}}, 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := unionLength(tc.list); got != tc.want {
				t.Errorf("unionLength = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseProcStatus(t *testing.T) {
	status := "Name:\tlatchkey\nVmPeak:\t 2000000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n"
	rss, hwm, err := parseProcStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if rss != 40<<20 || hwm != 80<<20 {
		t.Errorf("got rss %d hwm %d, want %d %d", rss, hwm, 40<<20, 80<<20)
	}
	if _, _, err := parseProcStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("no VmRSS: got no error")
	}
}
