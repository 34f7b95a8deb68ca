package main

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/totp"
)

func TestUserPool(t *testing.T) {
	// A time in the middle of a step, so now+1s is the same step.
	now := time.Unix(1_000_000*totp.Period+10, 0)
	step := totp.Step(now)
	newPool := func(lastSteps ...int64) *userPool {
		p := &userPool{}
		for _, s := range lastSteps {
			p.add([]*totpUser{{lastStep: s}})
		}
		return p
	}

	t.Run("OK", func(t *testing.T) {
		p := newPool(step-1, step-1)
		a, _ := p.take(now)
		b, _ := p.take(now)
		if a == nil || b == nil || a == b {
			t.Fatalf("take, take = %p, %p; want two different users", a, b)
		}
	})
	t.Run("BusyUserNotGivenTwice", func(t *testing.T) {
		p := newPool(step - 5)
		if u, _ := p.take(now); u == nil {
			t.Fatal("first take: no user")
		}
		if u, _ := p.take(now); u != nil {
			t.Fatal("second take gave the busy user")
		}
	})
	t.Run("UsedStepNotRepeated", func(t *testing.T) {
		p := newPool(step - 1)
		u, _ := p.take(now)
		p.release(u, step)
		got, wait := p.take(now.Add(time.Second))
		if got != nil {
			t.Fatal("user given again in the step whose code was just used")
		}
		if want := 19 * time.Second; wait != want {
			t.Errorf("wait = %v, want %v (until the next step)", wait, want)
		}
		if got, _ := p.take(now.Add(time.Second + wait)); got != u {
			t.Error("user not available again in the next step")
		}
	})
	t.Run("EnrolmentStepCounts", func(t *testing.T) {
		// The confirming code consumed this step: the user must wait.
		p := newPool(step)
		if u, _ := p.take(now); u != nil {
			t.Error("user given in the step of their enrolment")
		}
		if at, want := p.readyAt(), time.Unix((step+1)*totp.Period, 0); !at.Equal(want) {
			t.Errorf("readyAt = %v, want %v", at, want)
		}
	})
	t.Run("ReleaseNeverMovesBack", func(t *testing.T) {
		p := newPool(step - 1)
		u, _ := p.take(now)
		p.release(u, -1) // no code sent
		if u.lastStep != step-1 {
			t.Errorf("lastStep = %d, want %d", u.lastStep, step-1)
		}
	})
}

// TestUserPassword: the tool's user password holds no letter or digit of
// the addresses it makes, so the policy's context-word rule cannot refuse it.
func TestUserPassword(t *testing.T) {
	pw := userPassword([]byte{0, 1, 2, 0xfe, 0xff, 0x10, 0x7f})
	for _, r := range "0123456789abcdefloadtp" {
		if strings.ContainsRune(pw[3:], r) {
			t.Errorf("password %q holds %q, which the addresses hold", pw, r)
		}
	}
}
