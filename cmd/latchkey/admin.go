package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/secretbox"
	"github.com/latchkey/latchkey/internal/store"
)

// adminService opens the database and returns a service for one-shot
// commands, with the given keyring (nil when the command seals nothing).
func adminService(ctx context.Context, e env, f *dbFlags, keyring auth.Sealer) (*auth.Service, *store.DB, error) {
	logger := newLogger(e, "text", f.dev)
	db, err := f.openStore(ctx, logger)
	if err != nil {
		return nil, nil, err
	}
	svc := auth.NewService(auth.DefaultConfig(), auth.Deps{
		Store:            db,
		Hasher:           password.NewHasher(password.DefaultParams(), 1, 0, rand.Reader),
		Sealer:           keyring,
		ValidatePassword: password.ValidateFor,
		Logger:           logger,
	})
	return svc, db, nil
}

func runMigrate(ctx context.Context, e env, args []string) error {
	var f dbFlags
	fs := newFlagSet(e, "migrate", "Apply the database migrations and exit. Safe while other instances start.")
	f.register(fs)
	if help, err := parse(fs, args, e); help || err != nil {
		return err
	}
	db, err := f.openStore(ctx, newLogger(e, "text", f.dev))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "latchkey: %s database is up to date\n", db.Dialect())
	return db.Close()
}

func runUserAdd(ctx context.Context, e env, args []string) error {
	var f dbFlags
	var email, role string
	fs := newFlagSet(e, "user add", "Create a user. The password is read from the first line of standard input.")
	f.register(fs)
	fs.StringVar(&email, "email", "", "email address (required)")
	fs.StringVar(&role, "role", "user", "role (e.g. user, admin)")
	if help, err := parse(fs, args, e); help || err != nil {
		return err
	}
	if email == "" {
		return errors.New("user add: --email is required")
	}
	pw, err := readPassword(e.stdin)
	if err != nil {
		return err
	}
	svc, db, err := adminService(ctx, e, &f, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := svc.CreateUser(ctx, email, pw, role)
	if err != nil {
		return publicError(err)
	}
	fmt.Fprintf(e.stdout, "latchkey: created user %d %s (role %s)\n", u.ID, u.Email, u.Role)
	return nil
}

// readPassword reads one line from r: the password never appears in argv,
// where other users of the machine could see it.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

func runUserResetMFA(ctx context.Context, e env, args []string) error {
	var f dbFlags
	var email string
	fs := newFlagSet(e, "user reset-mfa", "Remove every second factor and the recovery code of a user, and sign them out everywhere.")
	f.register(fs)
	fs.StringVar(&email, "email", "", "email address (required)")
	if help, err := parse(fs, args, e); help || err != nil {
		return err
	}
	if email == "" {
		return errors.New("user reset-mfa: --email is required")
	}
	svc, db, err := adminService(ctx, e, &f, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := svc.UserByEmail(ctx, email)
	if err != nil {
		return publicError(err)
	}
	if err := svc.ResetMFA(ctx, u.ID, auth.Client{IP: "local", UserAgent: "latchkey CLI"}, "the command line"); err != nil {
		return publicError(err)
	}
	fmt.Fprintf(e.stdout, "latchkey: removed every second factor of %s and signed them out\n", u.Email)
	return nil
}

func runTokenCreate(ctx context.Context, e env, args []string) error {
	var f dbFlags
	var name string
	var admin bool
	fs := newFlagSet(e, "token create", "Create an API token. It is printed once; only its hash is stored.")
	f.register(fs)
	fs.StringVar(&name, "name", "", "a name to recognise the token by (required)")
	fs.BoolVar(&admin, "admin", false, "the token may call the admin API")
	if help, err := parse(fs, args, e); help || err != nil {
		return err
	}
	if !admin {
		return errors.New("token create: only admin tokens exist so far; pass --admin")
	}
	svc, db, err := adminService(ctx, e, &f, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	tok, err := svc.CreateAPIToken(ctx, name, admin)
	if err != nil {
		return publicError(err)
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

func runKeysGenerate(ctx context.Context, e env, args []string) error {
	var id string
	fs := newFlagSet(e, "keys generate", "Print a new random sealing key as \"id:base64\". Put it first in --secret-keys to make it the newest.")
	fs.StringVar(&id, "id", "", "key id (default: k + 8 random hex digits)")
	if help, err := parse(fs, args, e); help || err != nil {
		return err
	}
	if id == "" {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		id = fmt.Sprintf("k%x", b)
	}
	k, err := secretbox.GenerateKey(rand.Reader, id)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, secretbox.FormatKeys([]secretbox.Key{k}))
	return nil
}

func runKeysRotate(ctx context.Context, e env, args []string) error {
	var f dbFlags
	fs := newFlagSet(e, "keys rotate", "Re-seal every stored secret under the first (newest) key of --secret-keys. Running servers keep working: every key in the list still opens what it sealed.")
	f.register(fs)
	if help, err := parse(fs, args, e); help || err != nil {
		return err
	}
	keyring, err := f.keyring()
	if err != nil {
		return err
	}
	svc, db, err := adminService(ctx, e, &f, keyring)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := svc.RotateKeys(ctx)
	if err != nil {
		return publicError(err)
	}
	fmt.Fprintf(e.stdout, "latchkey: re-sealed %d secrets under key %s\n", n, keyring.PrimaryID())
	return nil
}

func runKeysStatus(ctx context.Context, e env, args []string) error {
	var f dbFlags
	fs := newFlagSet(e, "keys status", "Show, for each sealing key, how many stored secrets and codes depend on it (TOTP secrets "+
		"active and pending, recovery codes, live SMS codes), and which keys --secret-keys lists. A key can be removed from "+
		"--secret-keys once all its counts are 0: 'keys rotate' moves the TOTP secrets; a recovery code moves when it is used or regenerated.")
	f.register(fs)
	if help, err := parse(fs, args, e); help || err != nil {
		return err
	}
	keyring, err := f.keyring()
	if err != nil {
		return err
	}
	db, err := f.openStore(ctx, newLogger(e, "text", f.dev))
	if err != nil {
		return err
	}
	defer db.Close()
	usage, err := db.KeyUsage(ctx, time.Now())
	if err != nil {
		return publicError(err)
	}
	writeKeyStatus(e.stdout, keyring.IDs(), usage)
	return nil
}

// writeKeyStatus prints one line per key: the keyring's keys in their
// order (primary first), then the keys that are not configured but still
// have values stored under them.
func writeKeyStatus(w io.Writer, keyring []string, usage []store.KeyUsage) {
	byKey := make(map[string]store.KeyUsage, len(usage))
	for _, u := range usage {
		byKey[u.KeyID] = u
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tKEYRING\tTOTP\tTOTP PENDING\tRECOVERY CODES\tSMS CODES\tNOTE")
	line := func(id, keyring, note string) {
		u := byKey[id]
		if id == "" {
			id = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", id, keyring, u.TOTPActive, u.TOTPPending, u.RecoveryCodes, u.SMSCodes, note)
	}
	for i, id := range keyring {
		u := byKey[id]
		switch {
		case i == 0:
			line(id, "primary", "seals everything new")
		case u.TOTPActive+u.TOTPPending+u.RecoveryCodes+u.SMSCodes == 0:
			line(id, "listed", "nothing depends on it: it can be removed")
		case u.TOTPActive+u.TOTPPending > 0:
			line(id, "listed", "in use: run 'latchkey keys rotate'")
		default:
			line(id, "listed", "in use until these codes are used, regenerated or expire")
		}
	}
	for _, u := range usage {
		if !slices.Contains(keyring, u.KeyID) {
			line(u.KeyID, "missing", "not in --secret-keys: these no longer work")
		}
	}
	tw.Flush()
}

// publicError keeps a command's message to the public part of an error.
func publicError(err error) error {
	var e *auth.Error
	if errors.As(err, &e) && e.Kind != auth.KindInternal {
		return errors.New(e.Message)
	}
	return err
}
