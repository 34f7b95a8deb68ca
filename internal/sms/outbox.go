package sms

import (
	"context"
	"sync"
	"time"
)

// OutboxCap is how many messages an Outbox keeps; older ones are dropped.
const OutboxCap = 200

// OutboxMessage is a message kept by an Outbox, with the time it was sent.
type OutboxMessage struct {
	Message
	At time.Time
}

// Outbox is a Sender that keeps messages in memory, for --dev, where the
// /dev/outbox page lists them. It never delivers anything and must never be
// used in production: anyone who can read the page can read every code.
// It is safe for concurrent use.
type Outbox struct {
	now func() time.Time

	mu   sync.Mutex
	msgs []OutboxMessage // oldest first
}

// NewOutbox returns an empty Outbox that stamps messages with now
// (time.Now when nil).
func NewOutbox(now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{now: now}
}

// Send keeps m, dropping the oldest message beyond OutboxCap. It fails only
// when ctx is already done, as a real provider would.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return deliveryErr("outbox: %w", err)
	}
	at := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) >= OutboxCap {
		o.msgs = append(o.msgs[:0], o.msgs[len(o.msgs)-OutboxCap+1:]...)
	}
	o.msgs = append(o.msgs, OutboxMessage{Message: m, At: at})
	return nil
}

// Messages returns a copy of the kept messages, most recent first.
func (o *Outbox) Messages() []OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OutboxMessage, len(o.msgs))
	for i, m := range o.msgs {
		out[len(o.msgs)-1-i] = m
	}
	return out
}
