package main

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		name        string
		line        string
		busy, steal time.Duration
		wantErr     bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{name: "Steal", line: "cpu  301124 46 56423 449421 2299 0 1821 1328 0 0",
			busy: (301124 + 46 + 56423 + 0 + 1821) * clockTick, steal: 1328 * clockTick},
		{name: "NoSteal", line: "cpu  100 0 50 1000 7 0 3 0 0 0", busy: 153 * clockTick},
		{name: "OldKernel", line: "cpu 100 0 50 1000 7", busy: 150 * clockTick},
		{name: "NotTheCPULine", line: "cpu0 100 0 50 1000 7 0 3 0", wantErr: true},
		{name: "TooShort", line: "cpu 100 0 50", wantErr: true},
		{name: "NotANumber", line: "cpu 100 x 50 1000 7 0 3 0", wantErr: true},
		{name: "Empty", line: "", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			busy, steal, err := parseProcStat(tc.line)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %v, %v, want an error", busy, steal)
				}
				return
			}
			if err != nil || busy != tc.busy || steal != tc.steal {
				t.Fatalf("got busy %v steal %v err %v, want %v and %v", busy, steal, err, tc.busy, tc.steal)
			}
		})
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("cpu  301124 46 56423 449421 2299 0 1821 1328 0 0")
	f.Add("cpu 1 2 3 4 5")
	f.Fuzz(func(t *testing.T, line string) {
		busy, steal, err := parseProcStat(line)
		if err != nil && (busy != 0 || steal != 0) {
			t.Fatalf("an error with busy %v steal %v", busy, steal)
		}
	})
}
