package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/latchkey/latchkey/internal/secretbox"
	"github.com/latchkey/latchkey/internal/store"
)

// devDB is the SQLite file --dev uses when no database is named.
const devDB = "latchkey-dev.db"

// dbFlags are the flags every command that opens the database shares.
type dbFlags struct {
	db             string
	dev            bool
	secretKeys     string
	secretKeysFile string
	config         string
}

func (f *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.db, "db", "", "database: a SQLite file path (default latchkey.db; "+devDB+" with --dev) or a postgres:// URL")
	fs.BoolVar(&f.dev, "dev", false, "development mode: plain-HTTP cookie, SMS outbox, generated sealing key, demo account")
	fs.StringVar(&f.secretKeys, "secret-keys", "", "sealing keys \"id:base64key,...\" (first seals, all open); see 'latchkey keys generate'")
	fs.StringVar(&f.secretKeysFile, "secret-keys-file", "", "file holding the --secret-keys value")
	fs.StringVar(&f.config, "config", "", "config file (one \"flag value\" per line)")
}

func (f *dbFlags) dsn() string {
	switch {
	case f.db != "":
		return f.db
	case f.dev:
		return devDB
	default:
		return "latchkey.db"
	}
}

// openStore opens and migrates the database.
func (f *dbFlags) openStore(ctx context.Context, logger *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, f.dsn(), logger)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// keyring loads the sealing keys. Under --dev with none configured, a key is
// generated once and kept beside the database file, so sealed secrets
// survive a restart.
func (f *dbFlags) keyring() (*secretbox.Keyring, error) {
	spec := f.secretKeys
	if spec == "" && f.secretKeysFile != "" {
		b, err := os.ReadFile(f.secretKeysFile)
		if err != nil {
			return nil, fmt.Errorf("read --secret-keys-file: %w", err)
		}
		spec = strings.TrimSpace(string(b))
	}
	if spec == "" && f.dev && !strings.Contains(f.dsn(), "://") {
		var err error
		if spec, err = devKeys(f.dsn() + ".keys"); err != nil {
			return nil, err
		}
	}
	if spec == "" {
		return nil, errors.New("no sealing key: set --secret-keys (or LATCHKEY_SECRET_KEYS, or --secret-keys-file); 'latchkey keys generate' makes one")
	}
	keys, err := secretbox.ParseKeys(spec)
	if err != nil {
		return nil, fmt.Errorf("--secret-keys: %w", err)
	}
	return secretbox.NewKeyring(keys)
}

// devKeys reads or creates the development key file.
func devKeys(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	k, err := secretbox.GenerateKey(rand.Reader, "dev1")
	if err != nil {
		return "", err
	}
	spec := secretbox.FormatKeys([]secretbox.Key{k})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(spec+"\n"), 0o600); err != nil {
		return "", err
	}
	return spec, nil
}

// redactedAttrs are attribute names whose values never reach a log line, as a
// second line of defence behind never logging them at all.
var redactedAttrs = map[string]bool{"password": true, "token": true, "code": true, "secret": true, "session_token": true, "recovery_code": true}

func newLogger(e env, format string, dev bool) *slog.Logger {
	opts := &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if redactedAttrs[strings.ToLower(a.Key)] {
				return slog.String(a.Key, "[redacted]")
			}
			return a
		},
	}
	if format == "text" || (format == "" && dev) {
		return slog.New(slog.NewTextHandler(e.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(e.stderr, opts))
}
