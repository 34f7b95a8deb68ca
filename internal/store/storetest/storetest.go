// Package storetest gives tests fresh databases: a SQLite file always, and a
// PostgreSQL database when LATCHKEY_TEST_POSTGRES names a server. The same
// tests then run against both.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresEnv names the variable holding a PostgreSQL URL for tests, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "LATCHKEY_TEST_POSTGRES"

// ForEach runs fn as a subtest "sqlite" with a fresh SQLite file, and as a
// subtest "postgres" with a fresh PostgreSQL database when PostgresEnv is
// set. Under CI (CI set) a missing PostgresEnv fails the test, so the
// PostgreSQL half can never be skipped silently there.
func ForEach(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns the path of a fresh SQLite file.
func SQLite(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "latchkey.db")
}

// Postgres creates a fresh database on the PostgresEnv server, drops it
// when the test ends, and returns its URL. It skips the test when
// PostgresEnv is unset (and fails it under CI).
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL half of the suite", PostgresEnv)
		}
		t.Skipf("%s not set; PostgreSQL half skipped", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "latchkey_t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// FILE_COPY (PostgreSQL 15+) is about twice as fast for a small
	// template; older servers get the plain statement.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" STRATEGY FILE_COPY"); err != nil {
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create test database: %v", err)
		}
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}
