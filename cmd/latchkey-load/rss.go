package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sampling periods of the server's resident memory.
const (
	procSamplePeriod    = 50 * time.Millisecond  // reading /proc is cheap
	metricsSamplePeriod = 100 * time.Millisecond // /metrics costs the server a little
)

// memorySampler tracks the server's peak resident memory while a scenario
// runs: from /proc/<pid>/status (VmRSS every 50 ms, VmHWM at the end) when
// the server's pid is known, else from process_resident_memory_bytes of
// GET /metrics.
type memorySampler struct {
	pid    int
	client *client

	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	peak    int64 // bytes; 0 if no sample succeeded
	samples int
	lastErr error
}

// memoryReport is what a sampler saw.
type memoryReport struct {
	Source  string `json:"source"`              // "proc" or "metrics"
	PeakRSS int64  `json:"peak_rss_bytes"`      // highest sample
	HWM     int64  `json:"hwm_bytes,omitempty"` // VmHWM at the end (proc only): the peak since the server started
	Samples int    `json:"samples"`
	Err     string `json:"error,omitempty"` // the last sampling error, if no sample succeeded
}

// startMemorySampler starts sampling at once and until stop is called.
func startMemorySampler(ctx context.Context, pid int, c *client) *memorySampler {
	m := &memorySampler{pid: pid, client: c, stop: make(chan struct{}), done: make(chan struct{})}
	period := metricsSamplePeriod
	if pid > 0 {
		period = procSamplePeriod
	}
	go func() {
		defer close(m.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			m.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-m.stop:
				m.sample(ctx)
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memorySampler) sample(ctx context.Context) {
	var rss int64
	var err error
	if m.pid > 0 {
		rss, _, err = procMemory(m.pid)
	} else {
		rss, err = metricsRSS(ctx, m.client)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.lastErr = err
		return
	}
	m.samples++
	m.peak = max(m.peak, rss)
}

// finish stops sampling and returns the report.
func (m *memorySampler) finish() memoryReport {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	r := memoryReport{Source: "metrics", PeakRSS: m.peak, Samples: m.samples}
	if m.pid > 0 {
		r.Source = "proc"
		if _, hwm, err := procMemory(m.pid); err == nil {
			r.HWM = hwm
		}
	}
	if m.samples == 0 && m.lastErr != nil {
		r.Err = m.lastErr.Error()
	}
	return r
}

// procMemory returns VmRSS and VmHWM of pid in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseProcStatus(b)
}

// parseProcStatus reads VmRSS and VmHWM (in kB) from /proc/<pid>/status.
func parseProcStatus(b []byte) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc status")
	}
	return rss, hwm, nil
}

// metricsRSS reads process_resident_memory_bytes from GET /metrics.
func metricsRSS(ctx context.Context, c *client) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	return parseMetricsRSS(io.LimitReader(resp.Body, 4<<20))
}

// parseMetricsRSS finds process_resident_memory_bytes in a Prometheus text
// exposition.
func parseMetricsRSS(r io.Reader) (int64, error) {
	const name = "process_resident_memory_bytes"
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[len(name):]), 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return int64(v), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("GET /metrics has no %s", name)
}

// loadAvg returns the first three fields of /proc/loadavg ("" if unreadable):
// other processes on the machine disturb a load test, so every result says
// how busy the machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
