package sms

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// counting is a Sender that counts the sends of another.
type counting struct {
	next Sender
	sent *prometheus.CounterVec
}

// Counting wraps s so that every send is counted in
// latchkey_sms_sent_total{purpose,result}, registered on reg (not registered
// when reg is nil). result is "ok" or "error"; purpose is one of the Purpose
// constants, or "other" for anything else, so a caller's typo cannot grow
// the label set. Watching this counter is how an operator notices SMS
// pumping. When reg already holds the counter (a second Counting on the same
// registry), that counter is shared; any other registration error panics,
// as with prometheus.MustRegister.
func Counting(s Sender, reg prometheus.Registerer) Sender {
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_sms_sent_total",
		Help: "SMS sends by purpose and result (ok or error).",
	}, []string{"purpose", "result"})
	if reg != nil {
		if err := reg.Register(sent); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				panic(err)
			}
			sent = existing
		}
	}
	// Create every series at zero so dashboards and rate() see them before
	// the first send.
	for _, p := range []string{PurposeLogin, PurposeReauth, PurposeEnroll, PurposeNotice, "other"} {
		sent.WithLabelValues(p, "ok")
		sent.WithLabelValues(p, "error")
	}
	return &counting{next: s, sent: sent}
}

// Send passes m on and counts the result.
func (c *counting) Send(ctx context.Context, m Message) error {
	err := c.next.Send(ctx, m)
	result := "ok"
	if err != nil {
		result = "error"
	}
	c.sent.WithLabelValues(purposeLabel(m.Purpose), result).Inc()
	return err
}

func purposeLabel(p string) string {
	switch p {
	case PurposeLogin, PurposeReauth, PurposeEnroll, PurposeNotice:
		return p
	}
	return "other"
}
