package auth

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/latchkey/latchkey/internal/secretbox"
)

// TestService_openTOTP: a secret sealed for one (user, factor) opens only as
// that factor of that user; the service fails closed for any other row.
func TestService_openTOTP(t *testing.T) {
	k, err := secretbox.GenerateKey(rand.Reader, "k1")
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := secretbox.NewKeyring([]secretbox.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	s := NewService(DefaultConfig(), Deps{Sealer: keyring})
	secret := []byte("12345678901234567890")
	tests := []struct {
		name                 string
		sealedUser, sealedID int64 // the row the secret was sealed for
		openedUser, openedID int64 // the row it is read from
		opens                bool
	}{
		{"OK", 1, 1, 1, 1, true},
		{"OtherFactor", 1, 1, 1, 2, false},
		{"OtherUser", 1, 1, 2, 1, false},
		{"Swapped", 1, 2, 2, 1, false},
		// The separator keeps (12, 3) and (1, 23) apart.
		{"DigitsShifted", 1, 23, 12, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sealed, keyID, err := keyring.Seal(secret, totpAAD(tc.sealedUser, tc.sealedID))
			if err != nil {
				t.Fatal(err)
			}
			f := &TOTPFactor{ID: tc.openedID, UserID: tc.openedUser, SealedSecret: sealed, KeyID: keyID}
			got, err := s.openTOTP(f)
			switch {
			case tc.opens && (err != nil || !bytes.Equal(got, secret)):
				t.Errorf("got %q, %v; want the secret", got, err)
			case !tc.opens && (err == nil || got != nil):
				t.Errorf("sealed for (user %d, factor %d), read as (user %d, factor %d): got %q, %v; want an error",
					tc.sealedUser, tc.sealedID, tc.openedUser, tc.openedID, got, err)
			case !tc.opens && !IsKind(err, KindInternal):
				t.Errorf("got error %v, want an internal one (fail closed)", err)
			}
		})
	}
}
