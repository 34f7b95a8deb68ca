package store_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

func TestDB_APITokenByHash(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			for _, admin := range []bool{true, false} {
				tok := &auth.APIToken{Name: fmt.Sprint("ci-", admin), TokenHash: hash(fmt.Sprint("tok-", admin)), Admin: admin, CreatedAt: t0}
				if err := db.CreateAPIToken(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
				if tok.ID == 0 {
					t.Error("got ID 0, want it set")
				}
				got, err := db.APITokenByHash(t.Context(), tok.TokenHash)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tok, got); diff != "" {
					t.Errorf("token mismatch (-want +got):\n%s", diff)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.APITokenByHash(t.Context(), hash("nope"))
			wantNotFound(t, err)
		})
	})
}
