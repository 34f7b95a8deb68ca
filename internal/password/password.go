// Package password hashes passwords with argon2id and applies the password
// policy of NIST SP 800-63B-4 (length limits, a blocklist, no composition
// rules).
//
// A Hasher bounds how many hashes run at once and how many callers may wait
// for one, so a login flood is answered with ErrBusy (429) instead of
// exhausting memory: each hash with DefaultParams allocates 19 MiB. With
// ReleaseWhenIdle, that memory goes back to the operating system once the
// hashing stops.
//
// Every password is normalized to Unicode NFKC before it is hashed, verified
// or validated, as NIST SP 800-63B-4 recommends: the same password typed on
// two keyboards (composed "é" or "e" + combining accent, fullwidth or ASCII
// letters) must give the same hash.
package password

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id parameters. Memory is in KiB.
type Params struct {
	Memory  uint32 // KiB of memory per hash
	Time    uint32 // passes over the memory
	Threads uint8  // lanes (parallelism)
	SaltLen uint32 // bytes of random salt
	KeyLen  uint32 // bytes of derived key
}

// DefaultParams returns the parameters new hashes use: m=19 MiB, t=2, p=1,
// a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	// This is OWASP's minimum argon2id configuration (Password Storage Cheat
	// Sheet). Memory is what makes argon2id expensive on GPUs, but it is also
	// what a login flood costs us, so we take the floor and bound concurrency
	// with the Hasher's semaphore instead of raising m. p=1 keeps one hash on
	// one core, so the semaphore's slot count is the CPU count it uses.
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// ErrBusy means the hashing queue is full: the caller should answer 429 and
// let the client retry.
var ErrBusy = errors.New("password: hashing queue is full")

// Hasher hashes and verifies passwords with argon2id. At most concurrency
// hashes run at once and at most maxQueue callers wait for a slot; beyond
// that, calls fail at once with ErrBusy. A Hasher is safe for concurrent
// use.
type Hasher struct {
	params Params
	rand   io.Reader

	// slots is a counting semaphore: a hash runs while it holds one slot.
	slots    chan struct{}
	waiting  atomic.Int64 // callers blocked in acquire
	maxQueue int64
	finished atomic.Int64 // hashes done, for ReleaseWhenIdle

	// dummy is a PHC string with the hasher's parameters, for VerifyDummy.
	dummy string
}

// NewHasher returns a Hasher that makes new hashes with p.
//
// concurrency is the number of hashes that may run at once (pass
// runtime.NumCPU()); values below 1 mean 1. maxQueue is the number of
// callers that may wait for a slot beyond that; 0 or less means
// 64*concurrency. rand supplies salts (crypto/rand.Reader in production).
//
// NewHasher panics if rand is nil or p is outside the bounds Verify accepts
// (see the PHC parser), since such a Hasher could not verify its own hashes.
func NewHasher(p Params, concurrency, maxQueue int, rand io.Reader) *Hasher {
	if rand == nil {
		panic("password: NewHasher: nil rand")
	}
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("password: NewHasher: bad params: %v", err))
	}
	if concurrency < 1 {
		concurrency = 1
	}
	if maxQueue <= 0 {
		maxQueue = 64 * concurrency
	}
	return &Hasher{
		params:   p,
		rand:     rand,
		slots:    make(chan struct{}, concurrency),
		maxQueue: int64(maxQueue),
		// The stored key is all zeros: no password derives it (the chance is
		// 2^-(8*KeyLen)), and Verify does the same work whatever the key is.
		dummy: encodePHC(p, make([]byte, p.SaltLen), make([]byte, p.KeyLen)),
	}
}

// Params returns the parameters h uses for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id hash of password (after NFKC normalization) as a
// PHC string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, with salt and
// hash in unpadded standard base64. It does not apply the policy; call
// Validate first for a new password.
//
// Hash returns ErrBusy when the queue is full, and ctx.Err() if ctx ends
// while it waits for a slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("password: read salt: %w", err)
	}
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches phc, a PHC string made by Hash
// (with these or other parameters). When it matches, needsRehash reports
// whether phc's parameters differ from h's, so the caller should store a
// fresh Hash of the password; needsRehash is always false when ok is false.
//
// A malformed phc, or one whose parameters are out of bounds, is an error,
// never a match. Verify returns ErrBusy when the queue is full, and
// ctx.Err() if ctx ends while it waits for a slot.
func (h *Hasher) Verify(ctx context.Context, password, phc string) (ok, needsRehash bool, err error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, false, err
	}
	// Constant time, so the response time says nothing about how many
	// leading bytes of the stored hash a guess matched.
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy does the work of Verify against a fixed hash with h's
// parameters and reports only errors (ErrBusy, ctx.Err()). A login for an
// unknown email calls it, so it takes as long as one for a known email and
// the response time does not reveal which accounts exist.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

// derive runs argon2id on the normalized password while holding a slot.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer h.release()
	defer h.finished.Add(1)
	return argon2.IDKey([]byte(normalize(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// ReleaseWhenIdle calls release once after each burst of hashing: when
// hashes have finished since the last call and then, for a whole interval of
// idle, none finished and none ran. It returns when ctx ends.
//
// Why: each hash allocates Params.Memory, which the Go runtime keeps after
// the hash for reuse and hands back to the operating system only slowly, so
// a process that has just hashed a few hundred passwords holds on to a peak
// it no longer needs. The server passes debug.FreeOSMemory. During steady
// hashing it is never called: the memory is about to be needed again.
func (h *Hasher) ReleaseWhenIdle(ctx context.Context, idle time.Duration, release func()) {
	t := time.NewTicker(idle)
	defer t.Stop()
	released, seen := h.finished.Load(), h.finished.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := h.finished.Load()
		if n == seen && n != released && len(h.slots) == 0 {
			release()
			released = n
		}
		seen = n
	}
}

// acquire takes a hashing slot, waiting for one unless maxQueue callers are
// already waiting. The bound on waiters matters as much as the one on
// slots: without it, a flood would pile up goroutines (and their requests)
// until the server ran out of memory or every caller timed out.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if h.waiting.Add(1) > h.maxQueue {
		h.waiting.Add(-1)
		return ErrBusy
	}
	defer h.waiting.Add(-1)
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives back a slot taken by acquire.
func (h *Hasher) release() { <-h.slots }

// normalize returns the NFKC form of password (see the package comment).
func normalize(password string) string { return norm.NFKC.String(password) }
