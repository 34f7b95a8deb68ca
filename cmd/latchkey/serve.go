package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/web"
)

// serveFlags are the settings of "latchkey serve".
type serveFlags struct {
	dbFlags
	smsFlags
	addr             string
	issuer           string
	mfaRequiredRoles config.StringList
	trustedProxies   config.StringList
	metricsFrom      config.StringList
	redisURL         string
	logFormat        string
	hashConcurrency  int
	hashQueue        int
	sessionIdle      time.Duration
	sessionAbsolute  time.Duration
	stepUpWindow     time.Duration
}

// register defines the flags of serve. The flags that set a rule take their
// defaults from auth.DefaultConfig, which gives the reasons: a default
// changed there changes the binary.
func (f *serveFlags) register(fs *flag.FlagSet) {
	def := auth.DefaultConfig()
	f.dbFlags.register(fs)
	f.smsFlags.register(fs, def.SMSLimits)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	fs.StringVar(&f.issuer, "issuer", def.Issuer, "issuer shown in authenticator apps")
	f.mfaRequiredRoles = slices.Clone(def.MFARequiredRoles)
	fs.Var(&f.mfaRequiredRoles, "mfa-required-roles", "comma-separated roles that must use a second factor (e.g. admin)")
	fs.Var(&f.trustedProxies, "trusted-proxies", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is trusted")
	fs.Var(&f.metricsFrom, "metrics-from", "comma-separated CIDRs, besides loopback, whose direct (not proxied) requests may read /metrics")
	fs.StringVar(&f.redisURL, "redis-url", "", "redis://... to share password throttles across instances (default: in memory)")
	fs.StringVar(&f.logFormat, "log-format", "", "json or text (default json; text with --dev)")
	fs.IntVar(&f.hashConcurrency, "hash-concurrency", runtime.NumCPU(), "password hashes computed at once (each takes 19 MiB)")
	fs.IntVar(&f.hashQueue, "hash-queue", 0, "password checks that may wait for a slot before 429 (0: 64 per slot)")
	fs.DurationVar(&f.sessionIdle, "session-idle", def.SessionIdle, "session idle timeout")
	fs.DurationVar(&f.sessionAbsolute, "session-absolute", def.SessionAbsolute, "session absolute lifetime")
	fs.DurationVar(&f.stepUpWindow, "step-up-window", def.StepUpWindow, "how long a step-up lasts")
}

// config returns the rules: those the flags set, the rest at their defaults.
func (f *serveFlags) config() auth.Config {
	cfg := auth.DefaultConfig()
	cfg.Issuer = f.issuer
	cfg.MFARequiredRoles = f.mfaRequiredRoles
	cfg.SessionIdle, cfg.SessionAbsolute, cfg.StepUpWindow = f.sessionIdle, f.sessionAbsolute, f.stepUpWindow
	cfg.SMSLimits = f.smsFlags.limits()
	return cfg
}

func runServe(ctx context.Context, e env, args []string) error {
	var f serveFlags
	fs := newFlagSet(e, "serve", "Run the Latchkey server.")
	f.register(fs)
	if help, err := parse(fs, args, e); help || err != nil {
		return err
	}
	logger := newLogger(e, f.logFormat, f.dev)

	proxies, err := parsePrefixes("trusted-proxies", f.trustedProxies)
	if err != nil {
		return err
	}
	metricsFrom, err := parsePrefixes("metrics-from", f.metricsFrom)
	if err != nil {
		return err
	}
	keyring, err := f.keyring()
	if err != nil {
		return err
	}
	db, err := f.openStore(ctx, logger)
	if err != nil {
		return err
	}
	defer db.Close()

	var limiter ratelimit.Limiter = ratelimit.NewMemory(time.Now)
	if f.redisURL != "" {
		opt, err := redis.ParseURL(f.redisURL)
		if err != nil {
			return errors.New("--redis-url: not a valid redis:// URL")
		}
		// A throttle check sits on the login path: fail fast (and closed)
		// when Redis is down instead of retrying for seconds.
		opt.DialerRetries, opt.MaxRetries = 1, 1
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, 500*time.Millisecond, 500*time.Millisecond
		rc := redis.NewClient(opt)
		defer rc.Close()
		limiter = ratelimit.NewRedis(rc, "latchkey:rl:")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gateway, outbox, err := f.smsFlags.gateway(f.dev, reg)
	if err != nil {
		return err
	}

	gcPercent, memLimit := tuneGC(e.getenv, f.hashConcurrency, password.DefaultParams().Memory)
	logger.Info("garbage collector", "gogc", gcPercent, "memory_limit_mib", memLimit>>20)
	hasher := password.NewHasher(password.DefaultParams(), f.hashConcurrency, f.hashQueue, rand.Reader)
	// The hashes' memory goes back to the system a second after a burst.
	go hasher.ReleaseWhenIdle(ctx, time.Second, debug.FreeOSMemory)
	cfg := f.config()
	deps := auth.Deps{
		Store:            db,
		Hasher:           hasher,
		Sealer:           keyring,
		Throttles:        ratelimit.PasswordThrottles(limiter),
		IsBusy:           func(err error) bool { return errors.Is(err, password.ErrBusy) },
		ValidatePassword: password.ValidateFor,
		Logger:           logger,
	}
	if gateway != nil {
		deps.SMS = gateway
	}
	svc := auth.NewService(cfg, deps)
	specJSON, err := api.JSON(ctx)
	if err != nil {
		return fmt.Errorf("openapi document: %w", err)
	}
	handler, err := web.NewServer(logger, web.Options{
		Dev:            f.dev,
		TrustedProxies: proxies,
		MetricsFrom:    metricsFrom,
		OpenAPIJSON:    specJSON,
		OpenAPIYAML:    api.OpenAPIYAML,
		Ready:          db.Ping,
		Outbox:         outboxMessages(outbox),
		Metrics:        reg,
		MetricsHandler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
	}, svc)
	if err != nil {
		return err
	}

	if f.dev {
		if err := devAccount(ctx, e, svc); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(e.stdout, "latchkey: listening on http://%s\n", ln.Addr())
	logger.Info("listening", "addr", ln.Addr().String(), "dialect", db.Dialect(), "dev", f.dev)

	go cleanup(ctx, svc, logger)
	// Session activity is written once a second (see auth.Authenticate), and
	// once more after the last request.
	touchCtx, stopTouches := context.WithCancel(context.WithoutCancel(ctx))
	touchesDone := make(chan struct{})
	go func() {
		defer close(touchesDone)
		svc.RunTouches(touchCtx, time.Second)
	}()
	defer func() {
		stopTouches()
		<-touchesDone
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// parsePrefixes parses the CIDRs of flag --name.
func parsePrefixes(name string, list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, p := range list {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not a CIDR", name, p)
		}
		out = append(out, pfx)
	}
	return out, nil
}

// serverGCPercent is the collector's GOGC for the server (Go's default is
// 100). See tuneGC.
const serverGCPercent = 600

// tuneGC sets the garbage collector for the server's two kinds of
// allocation, unless the GOGC or GOMEMLIMIT environment variable sets it
// (then the Go runtime has already applied it), and returns the values in
// force (a memory limit of math.MaxInt64 is none).
//
// Requests allocate many small objects and keep few: the live heap is a
// few MiB, so at GOGC=100 the collector runs many times a second under
// load, and each cycle stalls the requests in flight; 600 halves the
// cycles of 300 for a modest RSS (the figures are in docs/performance.md,
// "Figures behind the design"). Password hashing allocates
// Params.Memory a hash, at most hashes at once; a higher GOGC alone would
// let that garbage pile up to several times the live hashing memory. The soft memory limit caps the heap at twice the hashing
// memory plus 64 MiB, so a login flood still stays well within its memory
// bound; the collector works harder near the limit instead of growing.
func tuneGC(getenv func(string) string, hashes int, hashKiB uint32) (percent int, limit int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64<<20 + 2*int64(max(hashes, 1))*int64(hashKiB)<<10)
	}
	percent = debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

// cleanup deletes, every 10 minutes, the expired sessions and the SMS
// records that no cap counts any more.
func cleanup(ctx context.Context, svc *auth.Service, logger *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := svc.CleanupSessions(ctx); err != nil {
				logger.Warn("clean up sessions", "err", err)
			} else if n > 0 {
				logger.Info("cleaned up sessions", "deleted", n)
			}
			if n, err := svc.CleanupSMS(ctx); err != nil {
				logger.Warn("clean up sms records", "err", err)
			} else if n > 0 {
				logger.Info("cleaned up sms records", "deleted", n)
			}
		}
	}
}

// devAccount makes (or resets) the demo account and prints how to sign in.
func devAccount(ctx context.Context, e env, svc *auth.Service) error {
	const email = "demo@latchkey.test"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	// Not "demo-...": the policy refuses a password holding the email's local part.
	pw := "try-" + base64.RawURLEncoding.EncodeToString(b)
	u, err := svc.UserByEmail(ctx, email)
	switch {
	case err == nil:
		if err := svc.SetPassword(ctx, u.ID, pw); err != nil {
			return err
		}
	case auth.IsKind(err, auth.KindNotFound):
		if _, err := svc.CreateUser(ctx, email, pw, "user"); err != nil {
			return err
		}
	default:
		return err
	}
	fmt.Fprintf(e.stdout, "latchkey: development mode; demo account %s password %s\n", email, pw)
	return nil
}
