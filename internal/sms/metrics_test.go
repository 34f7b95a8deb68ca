package sms

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// senderFunc adapts a function to Sender.
type senderFunc func(context.Context, Message) error

func (f senderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// sentCount reads latchkey_sms_sent_total{purpose,result} from reg.
func sentCount(t *testing.T, reg *prometheus.Registry, purpose, result string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "latchkey_sms_sent_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["purpose"] == purpose && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no latchkey_sms_sent_total{purpose=%q,result=%q}", purpose, result)
	return 0
}

func TestCounting(t *testing.T) {
	reg := prometheus.NewRegistry()
	fail := false
	s := Counting(senderFunc(func(context.Context, Message) error {
		if fail {
			return ErrDelivery
		}
		return nil
	}), reg)

	if got := sentCount(t, reg, PurposeLogin, "ok"); got != 0 {
		t.Errorf("before any send: %v, want 0", got)
	}
	for range 2 {
		if err := s.Send(context.Background(), Message{Purpose: PurposeLogin}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Send(context.Background(), Message{Purpose: "made-up"})
	fail = true
	if err := s.Send(context.Background(), Message{Purpose: PurposeEnroll}); !errors.Is(err, ErrDelivery) {
		t.Errorf("got %v, want the wrapped sender's error", err)
	}

	tests := []struct {
		purpose, result string
		want            float64
	}{
		{PurposeLogin, "ok", 2},
		{PurposeLogin, "error", 0},
		{PurposeEnroll, "error", 1},
		{PurposeEnroll, "ok", 0},
		{"other", "ok", 1},
	}
	for _, tc := range tests {
		if got := sentCount(t, reg, tc.purpose, tc.result); got != tc.want {
			t.Errorf("latchkey_sms_sent_total{purpose=%q,result=%q} = %v, want %v", tc.purpose, tc.result, got, tc.want)
		}
	}

	t.Run("OK/SecondWrapperSharesCounter", func(t *testing.T) {
		s2 := Counting(senderFunc(func(context.Context, Message) error { return nil }), reg)
		_ = s2.Send(context.Background(), Message{Purpose: PurposeReauth})
		if got := sentCount(t, reg, PurposeReauth, "ok"); got != 1 {
			t.Errorf("got %v, want 1", got)
		}
	})

	t.Run("OK/NilRegistry", func(t *testing.T) {
		s := Counting(senderFunc(func(context.Context, Message) error { return nil }), nil)
		if err := s.Send(context.Background(), Message{Purpose: PurposeLogin}); err != nil {
			t.Fatal(err)
		}
	})
}
