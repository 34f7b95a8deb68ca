package auth_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/latchkey/latchkey/internal/auth"
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
