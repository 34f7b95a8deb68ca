package sms

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestOutbox(t *testing.T) {
	t.Run("OK/MostRecentFirst", func(t *testing.T) {
		clock := testNow
		o := NewOutbox(func() time.Time { clock = clock.Add(time.Second); return clock })
		for i := range 3 {
			if err := o.Send(context.Background(), Message{To: "+1415555267" + strconv.Itoa(i), Body: "b", Purpose: PurposeNotice}); err != nil {
				t.Fatal(err)
			}
		}
		got := o.Messages()
		if len(got) != 3 {
			t.Fatalf("got %d messages, want 3", len(got))
		}
		for i, m := range got {
			if want := "+1415555267" + strconv.Itoa(2-i); m.To != want {
				t.Errorf("message %d to %q, want %q", i, m.To, want)
			}
			if want := testNow.Add(time.Duration(3-i) * time.Second); !m.At.Equal(want) {
				t.Errorf("message %d at %v, want %v", i, m.At, want)
			}
		}
	})

	t.Run("OK/Cap", func(t *testing.T) {
		o := NewOutbox(nil)
		const n = OutboxCap + 25
		for i := range n {
			if err := o.Send(context.Background(), Message{Body: strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
		got := o.Messages()
		if len(got) != OutboxCap {
			t.Fatalf("got %d messages, want %d", len(got), OutboxCap)
		}
		if first, last := got[0].Body, got[len(got)-1].Body; first != strconv.Itoa(n-1) || last != strconv.Itoa(n-OutboxCap) {
			t.Errorf("kept %s..%s, want %d..%d", first, last, n-1, n-OutboxCap)
		}
	})

	t.Run("OK/CopyIsIndependent", func(t *testing.T) {
		o := NewOutbox(nil)
		_ = o.Send(context.Background(), Message{Body: "a"})
		o.Messages()[0].Body = "changed"
		if got := o.Messages()[0].Body; got != "a" {
			t.Errorf("kept body %q, want a", got)
		}
	})

	t.Run("ErrCanceled", func(t *testing.T) {
		o := NewOutbox(nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := o.Send(ctx, Message{}); !errors.Is(err, ErrDelivery) {
			t.Errorf("got %v, want ErrDelivery", err)
		}
		if n := len(o.Messages()); n != 0 {
			t.Errorf("kept %d messages, want 0", n)
		}
	})
}
