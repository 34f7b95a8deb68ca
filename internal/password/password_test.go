package password

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// cheapParams keeps tests fast; DefaultParams is used only where its cost
// is the point (benchmarks, needsRehash).
func cheapParams() Params {
	return Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// newTestHasher returns a Hasher with p, two slots and the default queue.
func newTestHasher(tb testing.TB, p Params) *Hasher {
	tb.Helper()
	return NewHasher(p, 2, 0, rand.Reader)
}

// mustHash hashes password with h or fails the test.
func mustHash(tb testing.TB, h *Hasher, password string) string {
	tb.Helper()
	phc, err := h.Hash(context.Background(), password)
	if err != nil {
		tb.Fatalf("Hash: got error %v, want nil", err)
	}
	return phc
}

func TestDefaultParams(t *testing.T) {
	got := DefaultParams()
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if err := got.check(); err != nil {
		t.Errorf("DefaultParams out of the parser's bounds: %v", err)
	}
}

func TestNewHasher(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		h := NewHasher(cheapParams(), 0, 0, rand.Reader)
		if got := cap(h.slots); got != 1 {
			t.Errorf("slots: got %d, want 1", got)
		}
		if h.maxQueue != 64 {
			t.Errorf("maxQueue: got %d, want 64", h.maxQueue)
		}
		if got := h.Params(); got != cheapParams() {
			t.Errorf("Params: got %+v, want %+v", got, cheapParams())
		}
	})

	panics := []struct {
		name string
		p    Params
		rand bool
	}{
		{"NilRand", cheapParams(), false},
		{"ZeroTime", Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"ZeroThreads", Params{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}, true},
		{"ShortSalt", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}, true},
		{"HugeMemory", Params{Memory: 4 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
	}
	for _, tc := range panics {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("got no panic, want one")
				}
			}()
			var r = rand.Reader
			if !tc.rand {
				r = nil
			}
			NewHasher(tc.p, 1, 0, r)
		})
	}
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHasher_Hash(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newTestHasher(t, cheapParams())
		phc := mustHash(t, h, "correct horse battery staple")
		if !phcPattern.MatchString(phc) {
			t.Errorf("got %q, want a match for %s", phc, phcPattern)
		}
		ok, rehash, err := h.Verify(context.Background(), "correct horse battery staple", phc)
		if !ok || rehash || err != nil {
			t.Errorf("Verify: got %v, %v, %v, want true, false, nil", ok, rehash, err)
		}
	})

	t.Run("Golden", func(t *testing.T) {
		// A fixed salt pins the encoding (field order, base64 flavour, no
		// padding) and the key. The wants come from the argon2 reference
		// implementation (Debian's argon2 CLI, 0~20171227):
		//   printf %s 'correct horse battery staple' |
		//     argon2 saltsaltsaltsalt -id -t 1 -k 64 -p 1 -l 32 -e
		tests := []struct {
			name string
			p    Params
			want string
		}{
			{"Cheap", cheapParams(), "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$TUhCoV6YH8thtZpQqRp0JvQQ5ZYgiLA0LYApKDG6qtM"},
			{"Default", DefaultParams(), "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$QKHrg5tayLGcN+Y0HVPNaBqykOVLUxlMkZycXE1uWRM"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				h := NewHasher(tc.p, 1, 0, strings.NewReader("saltsaltsaltsalt"))
				if got := mustHash(t, h, "correct horse battery staple"); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
	})

	t.Run("SaltsDiffer", func(t *testing.T) {
		h := newTestHasher(t, cheapParams())
		a, b := mustHash(t, h, "same password"), mustHash(t, h, "same password")
		if a == b {
			t.Errorf("got two equal hashes %q, want different salts", a)
		}
	})

	t.Run("ErrRand", func(t *testing.T) {
		h := NewHasher(cheapParams(), 1, 0, bytes.NewReader(nil))
		_, err := h.Hash(context.Background(), "correct horse battery staple")
		if err == nil || errors.Is(err, ErrBusy) {
			t.Errorf("got %v, want a salt read error", err)
		}
	})
}

func TestHasher_Verify(t *testing.T) {
	h := newTestHasher(t, cheapParams())
	tests := []struct {
		name     string
		stored   string // password that was hashed
		password string // password presented
		want     bool
	}{
		{"OK", "correct horse battery staple", "correct horse battery staple", true},
		{"WrongPassword", "correct horse battery staple", "correct horse battery stapler", false},
		{"CaseMatters", "correct horse battery staple", "Correct horse battery staple", false},
		{"Empty", "correct horse battery staple", "", false},
		// NFKC: fullwidth letters and digits are the ASCII ones.
		{"NFKCFullwidth", "ｐａｓｓｗｏｒｄ１２３", "password123", true},
		// NFKC: a composed é and e + combining acute are one character.
		{"NFKCComposed", "caf\u00e9 au lait", "cafe\u0301 au lait", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			phc := mustHash(t, h, tc.stored)
			ok, rehash, err := h.Verify(context.Background(), tc.password, phc)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if ok != tc.want {
				t.Errorf("ok: got %v, want %v", ok, tc.want)
			}
			if rehash {
				t.Errorf("needsRehash: got true, want false")
			}
		})
	}
}

func TestHasher_Verify_NeedsRehash(t *testing.T) {
	ctx := context.Background()
	cheap := newTestHasher(t, cheapParams())
	phc := mustHash(t, cheap, "correct horse battery staple")
	current := newTestHasher(t, DefaultParams())

	t.Run("OK", func(t *testing.T) {
		ok, rehash, err := current.Verify(ctx, "correct horse battery staple", phc)
		if !ok || !rehash || err != nil {
			t.Errorf("got %v, %v, %v, want true, true, nil", ok, rehash, err)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		// Without the right password there is nothing to rehash.
		ok, rehash, err := current.Verify(ctx, "wrong horse battery staple", phc)
		if ok || rehash || err != nil {
			t.Errorf("got %v, %v, %v, want false, false, nil", ok, rehash, err)
		}
	})
	t.Run("KeyLen", func(t *testing.T) {
		p := cheapParams()
		p.KeyLen = 16
		ok, rehash, err := newTestHasher(t, p).Verify(ctx, "correct horse battery staple", phc)
		if !ok || !rehash || err != nil {
			t.Errorf("got %v, %v, %v, want true, true, nil", ok, rehash, err)
		}
	})
}

func TestHasher_Verify_Malformed(t *testing.T) {
	h := newTestHasher(t, cheapParams())
	for _, tc := range malformedPHC {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "correct horse battery staple", tc.phc)
			if ok || rehash {
				t.Errorf("got ok=%v needsRehash=%v, want false, false", ok, rehash)
			}
			if !errors.Is(err, errMalformedHash) {
				t.Errorf("got error %v, want errMalformedHash", err)
			}
		})
	}
}

func TestHasher_VerifyDummy(t *testing.T) {
	h := newTestHasher(t, DefaultParams())
	if err := h.VerifyDummy(context.Background(), "correct horse battery staple"); err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	// The dummy must cost what a current hash costs.
	p, _, _, err := parsePHC(h.dummy)
	if err != nil {
		t.Fatalf("parse dummy: got error %v, want nil", err)
	}
	if p != h.Params() {
		t.Errorf("dummy params: got %+v, want %+v", p, h.Params())
	}
}

func TestHasher_ErrBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		h := NewHasher(cheapParams(), 1, 1, rand.Reader)
		if err := h.acquire(ctx); err != nil { // hold the only slot
			t.Fatalf("acquire: got error %v, want nil", err)
		}
		queued := make(chan error, 1)
		go func() {
			_, err := h.Hash(ctx, "correct horse battery staple")
			queued <- err
		}()
		synctest.Wait() // the second caller is now waiting for the slot
		if got := h.waiting.Load(); got != 1 {
			t.Fatalf("waiting: got %d, want 1", got)
		}

		calls := []struct {
			name string
			call func() error
		}{
			{"Hash", func() error { _, err := h.Hash(ctx, "pw"); return err }},
			{"Verify", func() error { _, _, err := h.Verify(ctx, "pw", h.dummy); return err }},
			{"VerifyDummy", func() error { return h.VerifyDummy(ctx, "pw") }},
		}
		for _, c := range calls {
			if err := c.call(); !errors.Is(err, ErrBusy) {
				t.Errorf("%s: got %v, want ErrBusy", c.name, err)
			}
		}
		if got := h.waiting.Load(); got != 1 {
			t.Errorf("waiting after ErrBusy: got %d, want 1", got)
		}

		h.release()
		if err := <-queued; err != nil {
			t.Errorf("queued Hash: got error %v, want nil", err)
		}
		if got := h.waiting.Load(); got != 0 {
			t.Errorf("waiting at the end: got %d, want 0", got)
		}
	})
}

func TestHasher_ContextDoneWhileWaiting(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"Canceled", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, context.Canceled},
		{"DeadlineExceeded", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Second)
		}, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := NewHasher(cheapParams(), 1, 1, rand.Reader)
				if err := h.acquire(context.Background()); err != nil {
					t.Fatalf("acquire: got error %v, want nil", err)
				}
				defer h.release()
				ctx, cancel := tc.ctx()
				defer cancel()
				done := make(chan error, 1)
				go func() {
					_, err := h.Hash(ctx, "correct horse battery staple")
					done <- err
				}()
				synctest.Wait() // the caller is now waiting for the slot
				if tc.want == context.Canceled {
					cancel()
				}
				// For DeadlineExceeded, blocking here lets the bubble's fake
				// clock run to the deadline.
				if err := <-done; !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
				if got := h.waiting.Load(); got != 0 {
					t.Errorf("waiting: got %d, want 0", got)
				}
			})
		})
	}
}

func TestHasher_ContextDoneBeforeCall(t *testing.T) {
	h := newTestHasher(t, cheapParams())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A free slot does not matter: a finished request is not worth a hash.
	if _, err := h.Hash(ctx, "correct horse battery staple"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash: got %v, want context.Canceled", err)
	}
	if err := h.VerifyDummy(ctx, "correct horse battery staple"); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyDummy: got %v, want context.Canceled", err)
	}
}

func TestHasher_ErrorsNeverContainPassword(t *testing.T) {
	const secret = "s3cret-Passw0rd-in-error?"
	h := NewHasher(cheapParams(), 1, 1, bytes.NewReader(nil))
	_, err := h.Hash(context.Background(), secret)
	_, _, err2 := h.Verify(context.Background(), secret, "$argon2id$v=19$m=64,t=1,p=1$"+secret+"$AAAAAAAAAAAAAAAAAAAAAA")
	for _, e := range []error{err, err2} {
		if e == nil || strings.Contains(e.Error(), secret) {
			t.Errorf("got %v, want an error without the password", e)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams(), 1, 0, rand.Reader)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultParams(), 1, 0, rand.Reader)
	ctx := context.Background()
	phc := mustHash(b, h, "correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", phc); !ok || err != nil {
			b.Fatalf("got %v, %v, want true, nil", ok, err)
		}
	}
}

func BenchmarkHashParallel(b *testing.B) {
	h := NewHasher(DefaultParams(), runtime.NumCPU(), 0, rand.Reader)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestHasher_ReleaseWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHasher(t, cheapParams())
		var releases atomic.Int64
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const idle = time.Second
		go h.ReleaseWhenIdle(ctx, idle, func() { releases.Add(1) })

		// Idle from the start: nothing to give back.
		time.Sleep(10 * idle)
		if n := releases.Load(); n != 0 {
			t.Fatalf("%d releases before any hash, want 0", n)
		}
		for burst := int64(1); burst <= 2; burst++ {
			for range 3 {
				if _, err := h.Hash(t.Context(), "correct horse battery staple"); err != nil {
					t.Fatal(err)
				}
			}
			// Within two intervals of the last hash; then, however long the
			// idle lasts, not again.
			time.Sleep(2*idle + time.Millisecond)
			if n := releases.Load(); n != burst {
				t.Fatalf("after burst %d: %d releases, want %d", burst, n, burst)
			}
			time.Sleep(10 * idle)
			if n := releases.Load(); n != burst {
				t.Fatalf("after burst %d and a long idle: %d releases, want %d", burst, n, burst)
			}
		}
	})
}

func TestHasher_ReleaseWhenIdleWaitsForSteadyHashing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHasher(t, cheapParams())
		var releases atomic.Int64
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const idle = time.Second
		go h.ReleaseWhenIdle(ctx, idle, func() { releases.Add(1) })
		// A hash every tenth of an interval for 20 intervals: never idle.
		for range 200 {
			if _, err := h.Hash(t.Context(), "correct horse battery staple"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(idle / 10)
		}
		if n := releases.Load(); n != 0 {
			t.Errorf("%d releases during steady hashing, want 0", n)
		}
		time.Sleep(2*idle + time.Millisecond)
		if n := releases.Load(); n != 1 {
			t.Errorf("%d releases after the hashing stopped, want 1", n)
		}
	})
}
