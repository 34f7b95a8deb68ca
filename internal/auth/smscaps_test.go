package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// The public messages of the sending caps.
const (
	msgCooldown = "A code was just sent to this number; wait a moment before asking for another."
	msgNumber   = "Too many codes sent to this number; try again later."
	msgAccount  = "Too many codes sent for this account; try again later."
	msgIP       = "Too many codes requested from your network; try again later."
	msgGlobal   = "Too many text messages are being sent right now; try again later."
)

func TestSMSCaps(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		want := []auth.SMSCap{
			{Name: "number-cooldown", Scope: auth.SMSScopeNumber, Limit: 1, Window: 30 * time.Second, Message: msgCooldown},
			{Name: "number-per-hour", Scope: auth.SMSScopeNumber, Limit: 5, Window: time.Hour, Message: msgNumber},
			{Name: "number-per-day", Scope: auth.SMSScopeNumber, Limit: 10, Window: 24 * time.Hour, Message: msgNumber},
			// Notices count toward every cap but those of the number.
			{Name: "account-per-hour", Scope: auth.SMSScopeAccount, Limit: 10, Window: time.Hour, Notices: true, Message: msgAccount},
			{Name: "ip-per-hour", Scope: auth.SMSScopeIP, Limit: 30, Window: time.Hour, Notices: true, Message: msgIP},
			{Name: "global-per-hour", Scope: auth.SMSScopeGlobal, Limit: 1000, Window: time.Hour, Notices: true, Message: msgGlobal},
		}
		if diff := cmp.Diff(want, auth.SMSCaps(auth.DefaultConfig().SMSLimits)); diff != "" {
			t.Errorf("caps (-want +got):\n%s", diff)
		}
	})
	t.Run("ZeroSwitchesOff", func(t *testing.T) {
		tests := []struct {
			off  string
			zero func(*auth.SMSLimits)
		}{
			{"number-cooldown", func(l *auth.SMSLimits) { l.NumberCooldown = 0 }},
			{"number-per-hour", func(l *auth.SMSLimits) { l.NumberPerHour = 0 }},
			{"number-per-day", func(l *auth.SMSLimits) { l.NumberPerDay = 0 }},
			{"account-per-hour", func(l *auth.SMSLimits) { l.AccountPerHour = 0 }},
			{"ip-per-hour", func(l *auth.SMSLimits) { l.IPPerHour = 0 }},
			{"global-per-hour", func(l *auth.SMSLimits) { l.GlobalPerHour = -1 }}, // negative is off too
		}
		for _, tc := range tests {
			t.Run(tc.off, func(t *testing.T) {
				l := auth.DefaultConfig().SMSLimits
				tc.zero(&l)
				var want []string
				for _, c := range auth.SMSCaps(auth.DefaultConfig().SMSLimits) {
					if c.Name != tc.off {
						want = append(want, c.Name)
					}
				}
				var got []string
				for _, c := range auth.SMSCaps(l) {
					got = append(got, c.Name)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("caps (-want +got):\n%s", diff)
				}
			})
		}
	})
	t.Run("AllOff", func(t *testing.T) {
		if got := auth.SMSCaps(auth.SMSLimits{}); len(got) != 0 {
			t.Errorf("got %v, want no caps", got)
		}
	})
}

func TestSMSRefusal_Err(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := auth.SMSCaps(auth.DefaultConfig().SMSLimits)[0]
	tests := []struct {
		name    string
		freesAt time.Time
		want    time.Duration
	}{
		{"OK", now.Add(20 * time.Second), 20 * time.Second},
		// Retry-After is in whole seconds: never less than one.
		{"UnderASecond", now.Add(500 * time.Microsecond), time.Second},
		{"Past", now.Add(-time.Minute), time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&auth.SMSRefusal{Cap: c, FreesAt: tc.freesAt}).Err(now)
			if err.Kind != auth.KindRateLimited || err.Message != msgCooldown || err.RetryAfter != tc.want {
				t.Errorf("got %v %q retry after %v, want %v %q retry after %v",
					err.Kind, err.Message, err.RetryAfter, auth.KindRateLimited, msgCooldown, tc.want)
			}
		})
	}
}

// smsRecordStore is a store that keeps SMS records and notes what
// DeleteOldSMS was asked to delete.
type smsRecordStore struct {
	auth.Store
	auth.SMSStore
	before time.Time
}

func (s *smsRecordStore) DeleteOldSMS(_ context.Context, before time.Time) (int64, error) {
	s.before = before
	return 3, nil
}

// noSMSStore is a store that keeps no SMS records.
type noSMSStore struct{ auth.Store }

func TestService_CleanupSMS(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		set  func(*auth.SMSLimits)
		keep time.Duration
	}{
		// The number's daily cap is the longest window.
		{"OK", func(*auth.SMSLimits) {}, 24 * time.Hour},
		{"LongCooldown", func(l *auth.SMSLimits) { l.NumberCooldown = 48 * time.Hour }, 48 * time.Hour},
		{"NoDailyCap", func(l *auth.SMSLimits) { l.NumberPerDay = 0 }, time.Hour},
		// No cap counts sends: nothing needs keeping.
		{"CapsOff", func(l *auth.SMSLimits) { *l = auth.SMSLimits{} }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := auth.DefaultConfig()
			tc.set(&cfg.SMSLimits)
			st := &smsRecordStore{}
			svc := auth.NewService(cfg, auth.Deps{Store: st, Now: func() time.Time { return now }})
			n, err := svc.CleanupSMS(t.Context())
			if err != nil || n != 3 {
				t.Fatalf("got %d, %v, want 3 rows deleted", n, err)
			}
			if want := now.Add(-tc.keep); !st.before.Equal(want) {
				t.Errorf("deleted before %v, want %v", st.before, want)
			}
		})
	}
	t.Run("Store", func(t *testing.T) {
		// The real store: a notice from before the longest window goes, a
		// newer one stays.
		db, err := store.Open(t.Context(), storetest.SQLite(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Time{now.Add(-25 * time.Hour), now.Add(-23 * time.Hour)} {
			if err := db.RecordSMSNotice(t.Context(), 0, "+14155550100", "203.0.113.7", at); err != nil {
				t.Fatal(err)
			}
		}
		svc := auth.NewService(auth.DefaultConfig(), auth.Deps{Store: db, Now: func() time.Time { return now }})
		if n, err := svc.CleanupSMS(t.Context()); n != 1 || err != nil {
			t.Errorf("got %d, %v, want 1 row deleted", n, err)
		}
	})
	t.Run("NoSMSStore", func(t *testing.T) {
		svc := auth.NewService(auth.DefaultConfig(), auth.Deps{Store: noSMSStore{}})
		if n, err := svc.CleanupSMS(t.Context()); n != 0 || err != nil {
			t.Errorf("got %d, %v, want 0, nil", n, err)
		}
	})
}
