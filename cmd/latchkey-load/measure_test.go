package main

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPacer(start, 4000) // one every 250 µs
	for i := range 4 {
		if got, want := p.ticket(), start.Add(time.Duration(i)*250*time.Microsecond); !got.Equal(want) {
			t.Fatalf("ticket %d: got %v, want %v", i, got, want)
		}
	}
	// A pause skips the schedule ahead; a pause that is already behind it
	// changes nothing.
	resume := start.Add(30 * time.Second)
	p.pauseUntil(resume)
	p.pauseUntil(start)
	for i := range 2 {
		if got, want := p.ticket(), resume.Add(time.Duration(i)*250*time.Microsecond); !got.Equal(want) {
			t.Errorf("ticket %d after the pause: got %v, want %v", i, got, want)
		}
	}
}

func TestTimedFromCountsTheWait(t *testing.T) {
	m := &measurement{rec: newRecorder()}
	scheduled := time.Now().Add(-40 * time.Millisecond) // its worker came late
	m.timedFrom(scheduled, func() outcome { return outcome{ok: true} })
	lat, ok, _ := m.rec.snapshot()
	if ok != 1 || len(lat) != 1 || lat[0] < 40*time.Millisecond {
		t.Errorf("got latencies %v (%d ok); want one of at least 40 ms, counted from the scheduled time", lat, ok)
	}
}
