// Command latchkey-load drives real HTTP load against a Latchkey server
// running on this machine and reports, for each scenario, successes per
// second, p50/p99/max latency, errors by status and code, and the server's
// peak resident memory.
//
// It only ever talks to a loopback address (localhost, 127.0.0.0/8, ::1):
// any other --url is refused, and the dialer refuses non-loopback addresses
// too. It creates its own users through the admin API (each costs the
// server one or three password hashes; that setup is timed and reported
// apart from the measurement). Every scenario is bounded by --duration or a
// fixed count and stops by itself.
//
// Scenarios:
//
//	session    GET /api/v1/session with bearer tokens from a few logins
//	login      POST /api/v1/login with correct passwords, against the
//	           argon2id ceiling measured first in the same run
//	flood      --flood-size sign-ins released at once: 200 or 429 only,
//	           and the server's peak memory
//	mfa-login  password + TOTP sign-ins, against the ceiling; then
//	           deliberate replays of accepted codes (none may pass)
//	totp-step  step-up by TOTP on aal2 sessions, each user once per step
//
// Usage:
//
//	latchkey-load --url http://127.0.0.1:8080 --admin-token lk_... \
//	    --pid $(pgrep -n latchkey) --scenario all --duration 10s
//
// With --json the human-readable report goes to stderr and a JSON array of
// results to stdout.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// adminTokenEnv names the environment variable read when --admin-token is
// not given (a token on the command line shows in ps).
const adminTokenEnv = "LATCHKEY_LOAD_ADMIN_TOKEN"

// errUsage means the usage was already printed; main adds nothing.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "latchkey-load:", err)
		}
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	url         string
	adminToken  string
	pid         int
	scenarios   []string
	concurrency int
	duration    time.Duration
	users       int // 0: each scenario's default
	floodSize   int
	rate        float64 // totp-step: verifications sent per second (0: as fast as the workers go)
	json        bool
	quietCores  float64       // wait until other processes use less than this (0: don't)
	quietMax    time.Duration // but no longer than this
}

// parseFlags parses the command line; help is true when --help was asked
// (the usage is then already printed).
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (cfg *config, help bool, err error) {
	cfg = &config{}
	fs := flag.NewFlagSet("latchkey-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scenarios string
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base URL of the server; must be a loopback address")
	fs.StringVar(&cfg.adminToken, "admin-token", "", "admin API token (default $"+adminTokenEnv+")")
	fs.IntVar(&cfg.pid, "pid", 0, "server process id: sample /proc/<pid>/status for memory (default: GET /metrics)")
	fs.StringVar(&scenarios, "scenario", "all", "comma-separated scenarios ("+strings.Join(scenarioNames(), ", ")+") or all")
	fs.IntVar(&cfg.concurrency, "concurrency", 32, "concurrent requests (workers); also the idle connections kept")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each timed scenario runs")
	fs.IntVar(&cfg.users, "users", 0, fmt.Sprintf("users to create and use: sessions for session (default %d), password-only users for login and flood (%d), users with an authenticator app for mfa-login (ceiling/s × min(duration, 30 s) × %.2f) and totp-step (%d)",
		sessionLogins, defaultPlainUsers, mfaLoginUsersPerSecond, defaultTOTPStepUsers))
	fs.IntVar(&cfg.floodSize, "flood-size", 500, "sign-ins released at once by the flood scenario")
	fs.Float64Var(&cfg.rate, "rate", 0, "totp-step only: send this many verifications per second on a fixed schedule, with at most --concurrency in flight; latency counts from each request's scheduled time (0: closed loop, each worker sends as soon as its last answer came)")
	fs.Float64Var(&cfg.quietCores, "wait-quiet", 0, "before each measurement, wait until other processes use fewer than this many cores (0: don't wait)")
	fs.DurationVar(&cfg.quietMax, "wait-quiet-max", 10*time.Minute, "the longest --wait-quiet waits before measuring anyway")
	fs.BoolVar(&cfg.json, "json", false, "print the results as JSON on stdout (the report goes to stderr)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: latchkey-load [flags]\n\nDrives HTTP load against a Latchkey server on this machine (loopback only).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, true, nil
		}
		return nil, false, errUsage
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if _, err := loopbackURL(cfg.url); err != nil {
		return nil, false, err
	}
	if cfg.adminToken == "" {
		cfg.adminToken = getenv(adminTokenEnv)
	}
	if cfg.adminToken == "" {
		return nil, false, fmt.Errorf("an admin token is required: --admin-token or $%s (make one with: latchkey token create --admin --name load)", adminTokenEnv)
	}
	switch {
	case cfg.concurrency < 1:
		return nil, false, errors.New("--concurrency must be at least 1")
	case cfg.duration <= 0:
		return nil, false, errors.New("--duration must be positive")
	case cfg.users < 0:
		return nil, false, errors.New("--users must not be negative")
	case cfg.floodSize < 1:
		return nil, false, errors.New("--flood-size must be at least 1")
	case cfg.pid < 0:
		return nil, false, errors.New("--pid must not be negative")
	case cfg.rate < 0 || math.IsNaN(cfg.rate) || math.IsInf(cfg.rate, 0):
		return nil, false, errors.New("--rate must be a positive number, or 0")
	}
	cfg.scenarios, err = parseScenarios(scenarios)
	if err != nil {
		return nil, false, err
	}
	return cfg, false, nil
}

// parseScenarios turns "all" or a comma list into scenario names, in the
// order given, without duplicates.
func parseScenarios(s string) ([]string, error) {
	if strings.TrimSpace(s) == "all" {
		return scenarioNames(), nil
	}
	var out []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(scenarioNames(), name) {
			return nil, fmt.Errorf("--scenario: unknown scenario %q (want %s or all)", name, strings.Join(scenarioNames(), ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// loadRun is one invocation: the client, the users created so far and the
// ceiling once measured, shared by the scenarios it runs.
type loadRun struct {
	cfg      *config
	c        *client
	log      io.Writer // the human-readable report
	runID    string    // makes this run's e-mail addresses unique
	password string    // every user's password
	plain    []string  // emails of password-only users
	totp     *userPool // users with an authenticator app
	ceiling  *ceiling  // nil until measured
}

// run is the whole program: main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, help, err := parseFlags(args[1:], getenv, stderr)
	if help || err != nil {
		return err
	}
	if getenv("GOGC") == "" {
		// The tool's own collector pauses would count as server latency:
		// collect a tenth as often (its heap is garbage from requests).
		debug.SetGCPercent(1000)
	}
	base, err := loopbackURL(cfg.url)
	if err != nil {
		return err
	}
	// The run id names the users; the password is random apart from it, since
	// the password policy refuses one that holds a part of the email address.
	var id [3]byte
	var pw [9]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	if _, err := rand.Read(pw[:]); err != nil {
		return err
	}
	lr := &loadRun{
		cfg:      cfg,
		c:        newClient(base, cfg.adminToken, cfg.concurrency),
		log:      stdout,
		runID:    hex.EncodeToString(id[:]),
		password: userPassword(pw[:]), // random: never on a blocklist
		totp:     &userPool{},
	}
	if cfg.json {
		lr.log = stderr
	}
	if cfg.pid > 0 {
		if _, _, err := procMemory(cfg.pid); err != nil {
			return fmt.Errorf("--pid %d: %w", cfg.pid, err)
		}
	}
	if err := lr.c.checkServer(ctx); err != nil {
		return err
	}
	fmt.Fprintf(lr.log, "latchkey-load: %s, run %s, scenarios %s, concurrency %d, duration %v, loadavg %s\n",
		base, lr.runID, strings.Join(cfg.scenarios, ","), cfg.concurrency, cfg.duration, loadAvg())

	var results []*result
	for _, name := range cfg.scenarios {
		fmt.Fprintf(lr.log, "\n== %s\n", name)
		r, err := lr.runScenario(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		printResult(lr.log, r)
		results = append(results, r)
	}
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return nil
}

// runScenario runs one scenario by name.
func (lr *loadRun) runScenario(ctx context.Context, name string) (*result, error) {
	switch name {
	case "session":
		return lr.runSession(ctx)
	case "login":
		return lr.runLogin(ctx)
	case "flood":
		return lr.runFlood(ctx)
	case "mfa-login":
		return lr.runMFALogin(ctx)
	case "totp-step":
		return lr.runTOTPStep(ctx)
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// printResult writes one scenario's result for people.
func printResult(w io.Writer, r *result) {
	fmt.Fprintf(w, "  concurrency      %d, users %d, setup %.1f s (not measured)\n", r.Concurrency, r.Users, r.SetupSeconds)
	fmt.Fprintf(w, "  operations       %d finished, %d succeeded in %.2f s", r.Operations, r.Successes, r.WallSeconds)
	if r.ActiveSeconds < r.WallSeconds-0.01 {
		fmt.Fprintf(w, " (%.2f s active)", r.ActiveSeconds)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  rate             %.1f successes/s\n", r.PerSecond)
	if r.Ceiling != nil {
		fmt.Fprintf(w, "  argon2 ceiling   %.1f/s (%d cores / %.1f ms mean of %d sequential logins): achieved %.1f %%\n",
			r.Ceiling.PerSecond, r.Ceiling.Cores, ms(r.Ceiling.Mean), r.Ceiling.Samples, r.CeilingPct)
	}
	fmt.Fprintf(w, "  latency          p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.P50Ms, r.P99Ms, r.MaxMs)
	if len(r.Errors) == 0 {
		fmt.Fprintf(w, "  errors           none\n")
	} else {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			label := ""
			if i == 0 {
				label = "errors"
			}
			fmt.Fprintf(w, "  %-16s %6d  %s\n", label, r.Errors[k], k)
		}
	}
	mem := r.Memory
	switch {
	case mem.Samples == 0:
		fmt.Fprintf(w, "  server RSS       unknown (%s)\n", mem.Err)
	case mem.Source == "proc":
		fmt.Fprintf(w, "  server RSS       peak %.1f MiB (VmRSS, %d samples); VmHWM %.1f MiB (peak since start)\n",
			mib(mem.PeakRSS), mem.Samples, mib(mem.HWM))
	default:
		fmt.Fprintf(w, "  server RSS       peak %.1f MiB (/metrics, %d samples)\n", mib(mem.PeakRSS), mem.Samples)
	}
	if r.CPU.Server > 0 {
		fmt.Fprintf(w, "  cpu (cores)      server %.2f, this tool %.2f, other processes %.2f (of %d); server %.3f ms CPU per success\n",
			r.CPU.Server, r.CPU.Tool, r.CPU.Other, r.CPU.Cores, r.ServerCPUMs)
	} else {
		fmt.Fprintf(w, "  cpu (cores)      this tool %.2f, server and other processes %.2f (of %d; --pid separates them)\n", r.CPU.Tool, r.CPU.Other, r.CPU.Cores)
	}
	if r.CPU.StolenMs > 0 {
		fmt.Fprintf(w, "  cpu stolen       %.0f ms: the hypervisor ran other guests on this machine's cores while they had work\n", r.CPU.StolenMs)
	}
	if r.Replays != nil {
		fmt.Fprintf(w, "  replays          %d tried, %d accepted", r.Replays.Tried, r.Replays.Accepted)
		for k, v := range r.Replays.Answers {
			fmt.Fprintf(w, "; %s: %d", k, v)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  loadavg          %s -> %s\n", r.LoadAvgStart, r.LoadAvgEnd)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note             %s\n", n)
	}
	verdict := "MISSED"
	if r.TargetMet {
		verdict = "met"
	}
	fmt.Fprintf(w, "  target           %s: %s\n", r.Target, verdict)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// userPassword spells random bytes in letters that no part of the tool's
// user addresses holds (they are made of "load", "pw", "totp", hex digits and
// decimal numbers), so the password policy's context-word rule never refuses
// it, whatever the user's number.
func userPassword(b []byte) string {
	const letters = "hjkmnqrsuvwxyz"
	out := make([]byte, 0, len(b)*2+3)
	out = append(out, "pw "...)
	for _, x := range b {
		out = append(out, letters[int(x)%len(letters)], letters[int(x/16)%len(letters)])
	}
	return string(out)
}
