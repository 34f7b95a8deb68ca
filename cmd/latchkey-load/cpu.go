package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc CPU times (USER_HZ, 100 on every Linux
// architecture Go runs on).
const clockTick = 10 * time.Millisecond

// cpuSnapshot is the CPU time used so far by this tool, the server (when its
// pid is known) and the whole machine, so a result can say who used the
// cores: the tool and the server share them, and other processes may too.
type cpuSnapshot struct {
	at      time.Time
	tool    time.Duration
	server  time.Duration // 0 without a pid
	machine time.Duration // busy time of all CPUs together, steal excluded
	steal   time.Duration // time the hypervisor ran something else on this machine's CPUs
}

// takeCPU reads the CPU counters now. Unreadable counters read as 0.
func takeCPU(pid int) cpuSnapshot {
	s := cpuSnapshot{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.tool = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if pid > 0 {
		s.server, _ = procCPUTime(pid)
	}
	s.machine, s.steal, _ = machineBusy()
	return s
}

// cpuUse is CPU use over an interval, in cores (1.0 = one core busy).
type cpuUse struct {
	Tool   float64 `json:"tool_cores"`
	Server float64 `json:"server_cores,omitempty"` // 0 without --pid
	Other  float64 `json:"other_cores"`            // everything else on the machine
	Cores  int     `json:"machine_cores"`
	// StolenMs is CPU time the hypervisor gave to other guests while this
	// virtual machine's CPUs had work ("steal" in /proc/stat), summed over
	// the CPUs, in whole clock ticks of 10 ms. On a machine whose CPUs are
	// shared, each tick stolen during a burst is up to 10 ms in which one of
	// the cores stood still.
	StolenMs float64 `json:"stolen_ms"`
}

// since returns the CPU use between s and now.
func (s cpuSnapshot) since(pid, cores int) cpuUse {
	e := takeCPU(pid)
	wall := e.at.Sub(s.at).Seconds()
	if wall <= 0 {
		return cpuUse{Cores: cores}
	}
	u := cpuUse{
		Tool:     (e.tool - s.tool).Seconds() / wall,
		Server:   (e.server - s.server).Seconds() / wall,
		Cores:    cores,
		StolenMs: ms(e.steal - s.steal),
	}
	u.Other = max(0, (e.machine-s.machine).Seconds()/wall-u.Tool-u.Server)
	return u
}

// procCPUTime returns utime+stime of every thread of pid.
func procCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces and parentheses: fields start
	// after the last ')'. There, field 0 is the state (field 3 of proc(5)),
	// so utime (14) and stime (15) are at 11 and 12.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// machineBusy returns the busy time of all CPUs (not idle, not iowait, not
// steal) and the steal time, from the first line of /proc/stat.
func machineBusy() (busy, steal time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseProcStat(line)
}

// parseProcStat reads the "cpu" line of /proc/stat: user nice system idle
// iowait irq softirq steal (guest time is already inside user; kernels
// before 2.6.11 have no steal field).
func parseProcStat(line string) (busy, steal time.Duration, err error) {
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("malformed /proc/stat")
	}
	var ticks, stolen int64
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("malformed /proc/stat")
		}
		switch i {
		case 3, 4: // idle, iowait
		case 7:
			stolen = n
		default:
			ticks += n
		}
	}
	return time.Duration(ticks) * clockTick, time.Duration(stolen) * clockTick, nil
}

// quietWindow is how long the machine is watched for each quiet check.
const quietWindow = 2 * time.Second

// waitQuiet waits until the processes other than this tool and the server
// used fewer than --wait-quiet cores over a quietWindow, for at most
// --wait-quiet-max (then it measures anyway, and says so). Other builds and
// tests may share this machine; a measurement taken while they run says
// more about them than about Latchkey. A limit of 0 returns at once.
func (lr *loadRun) waitQuiet(ctx context.Context) error {
	limit, maxWait := lr.cfg.quietCores, lr.cfg.quietMax
	if limit <= 0 {
		return nil
	}
	cores := runtime.NumCPU()
	start := time.Now()
	for {
		s := takeCPU(lr.cfg.pid)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(quietWindow):
		}
		u := s.since(lr.cfg.pid, cores)
		if u.Other < limit {
			if waited := time.Since(start); waited > 2*quietWindow {
				fmt.Fprintf(lr.log, "  waited %.0f s for the machine to be quiet (other processes %.2f cores)\n", waited.Seconds(), u.Other)
			}
			return nil
		}
		if time.Since(start) > maxWait {
			fmt.Fprintf(lr.log, "  machine still busy after %v (other processes %.2f cores >= %.2f): measuring anyway\n", maxWait, u.Other, limit)
			return nil
		}
	}
}
