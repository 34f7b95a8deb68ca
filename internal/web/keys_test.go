package web_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/secretbox"
)

// newKeyring returns a keyring of one new key with the given id.
func newKeyring(t *testing.T, id string) *secretbox.Keyring {
	t.Helper()
	k, err := secretbox.GenerateKey(rand.Reader, id)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := secretbox.NewKeyring([]secretbox.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestCodesUnderRemovedKey: the operator removed the key a recovery code or
// a live SMS code was hashed under (the server restarted with only a new
// key). Using such a code is a wrong attempt, 401 invalid_code and counted
// by the lockout, never a 500; the log names the key, never the code.
func TestCodesUnderRemovedKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		old := newHarness(t, dsn) // key "test1"
		_, rc, full := old.totpUser(t, "kim@example.com")
		kim, err := old.db.UserByEmail(ctx, "kim@example.com")
		if err != nil {
			t.Fatal(err)
		}
		old.phoneUser(t, "lou@example.com", numberA)
		lou, err := old.db.UserByEmail(ctx, "lou@example.com")
		if err != nil {
			t.Fatal(err)
		}
		smsSession := old.loginAAL1(t, "lou@example.com")
		smsCode := old.requestCode(t, pathLoginSMS, smsSession, numberA)

		// The same database, restarted with only key "test2".
		h := newHarness(t, dsn, withKeyring(newKeyring(t, "test2")))
		h.clock.Set(old.clock.Now())

		tests := []struct {
			name   string
			send   func() *response
			userID int64
			secret string
		}{
			{"RecoveryCodeSignIn", func() *response { return h.mfa(h.loginAAL1(t, "kim@example.com"), "recovery_code", rc) }, kim.ID, rc},
			{"RecoveryCodeStepUp", func() *response { return h.reauth(full, "recovery_code", rc) }, kim.ID, rc},
			{"SMSCodeSignIn", func() *response { return h.mfa(smsSession, "sms", smsCode) }, lou.ID, smsCode},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := h.failures(t, tc.userID)
				tc.send().want(t, 401, "invalid_code")
				if got := h.failures(t, tc.userID); got != before+1 {
					t.Errorf("got %d failures, want %d: the attempt must count like a wrong code", got, before+1)
				}
			})
		}
		logs := h.logs.String()
		for _, want := range []string{`"msg":"recovery code stored under a key that is not configured","key_id":"test1"`,
			`"msg":"sms code stored under a key that is not configured","key_id":"test1"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the log lacks %s", want)
			}
		}
		for _, secret := range []string{rc, strings.ReplaceAll(rc, "-", ""), smsCode} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log contains the code %q", secret)
			}
		}
		if strings.Contains(logs, `"level":"ERROR"`) {
			t.Error("the log has an error, want only warnings")
		}
		// Nothing else changed: the code still stands, stored under the old
		// key, for the old key's servers to accept.
		stored, err := h.db.RecoveryCode(ctx, kim.ID)
		if err != nil || !strings.HasPrefix(string(stored.Hash), "test1:") {
			t.Errorf("got recovery code %v (%v), want the one under test1", stored, err)
		}
	})
}
