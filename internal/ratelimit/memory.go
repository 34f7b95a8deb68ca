package ratelimit

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// Defaults for NewMemory.
const (
	defaultMaxKeys = 100_000 // bounds the state to some MB (docs/performance.md)
	defaultShards  = 16      // independent locks, so parallel requests rarely wait
)

// Memory is an in-process GCRA Limiter. It is safe for concurrent use, starts
// no goroutine and needs no Close.
//
// Its size is bounded: it holds at most 100,000 keys, about 11 MB. Each key
// is stored as a 64-bit hash with a per-Memory random seed, so an entry costs
// the same whatever the key's length (about 110 bytes), and an attacker can
// neither crowd one shard nor make keys collide. (Two live keys colliding
// would only share a throttle; with 100,000 keys the chance is about 3 in 10
// billion.)
//
// When a new key finds its shard full, the shard first drops every entry
// whose state has fully decayed; forgetting those changes no answer. If that
// does not free an eighth of the shard, it drops the entries whose throttle
// lifts soonest (the earliest theoretical arrival time), which are the
// "oldest" in GCRA terms: each would soon be forgotten anyway and gives back
// the least allowance. Heavily throttled keys, such as the target of a
// password-guessing run, are kept longest. Freeing an eighth at a time keeps
// the cost of a sweep spread over many inserts.
type Memory struct {
	now      func() time.Time
	seed     maphash.Seed
	shards   []memoryShard
	shardCap int // entries a shard may hold
	keep     int // entries a full shard keeps after a sweep
}

type memoryShard struct {
	mu sync.Mutex
	// tats maps a key's hash to its theoretical arrival time: the time at
	// which its state will have fully decayed. Absent means fresh.
	tats map[uint64]time.Time
}

// NewMemory returns an in-process GCRA limiter that reads the time from now
// (time.Now in production). See Memory for how it bounds its size.
func NewMemory(now func() time.Time) *Memory {
	return newMemory(now, defaultMaxKeys, defaultShards)
}

// newMemory returns a Memory that holds at most maxKeys keys in the given
// number of shards (at least one key per shard).
func newMemory(now func() time.Time, maxKeys, shards int) *Memory {
	shardCap := max(maxKeys/shards, 1)
	m := &Memory{
		now:      now,
		seed:     maphash.MakeSeed(),
		shards:   make([]memoryShard, shards),
		shardCap: shardCap,
		keep:     shardCap - max(shardCap/8, 1),
	}
	for i := range m.shards {
		m.shards[i].tats = make(map[uint64]time.Time)
	}
	return m
}

// AllowN implements Limiter. It never returns an error for a valid Limit
// and n.
func (m *Memory) AllowN(ctx context.Context, key string, l Limit, n int) (Result, error) {
	if err := l.check(n); err != nil {
		return Result{}, err
	}
	h, s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()

	now := m.now()
	tat, known := s.tats[h]
	res, newTAT := gcra(now, tat, l, n)
	if res.Allowed && n > 0 {
		if !known && len(s.tats) >= m.shardCap {
			s.evict(now, m.keep)
		}
		s.tats[h] = newTAT
	}
	return res, nil
}

// Reset implements Limiter.
func (m *Memory) Reset(ctx context.Context, key string) error {
	h, s := m.shard(key)
	s.mu.Lock()
	delete(s.tats, h)
	s.mu.Unlock()
	return nil
}

func (m *Memory) shard(key string) (uint64, *memoryShard) {
	h := maphash.String(m.seed, key)
	return h, &m.shards[h%uint64(len(m.shards))]
}

// size returns the number of keys held, for tests.
func (m *Memory) size() int {
	total := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		total += len(s.tats)
		s.mu.Unlock()
	}
	return total
}

// evict shrinks a full shard to at most keep entries: decayed entries first,
// then those with the earliest theoretical arrival time.
func (s *memoryShard) evict(now time.Time, keep int) {
	for h, tat := range s.tats {
		if !tat.After(now) {
			delete(s.tats, h)
		}
	}
	if len(s.tats) <= keep {
		return
	}
	type entry struct {
		h   uint64
		tat time.Time
	}
	entries := make([]entry, 0, len(s.tats))
	for h, tat := range s.tats {
		entries = append(entries, entry{h, tat})
	}
	slices.SortFunc(entries, func(a, b entry) int { return a.tat.Compare(b.tat) })
	for _, e := range entries[:len(entries)-keep] {
		delete(s.tats, e.h)
	}
}

// gcra decides one call for a key whose stored theoretical arrival time is
// tat (zero if the key is fresh) and returns the result and the new tat to
// store if n > 0 events were allowed. It follows redis_rate's Lua scripts
// step for step, so Memory and Redis agree; n == 0 is decided as a single
// event that is not recorded, like redis_rate's AllowAtMost with n == 0.
func gcra(now, tat time.Time, l Limit, n int) (Result, time.Time) {
	interval := l.interval()
	burstOffset := interval * time.Duration(l.Burst)
	if tat.Before(now) {
		tat = now // state decayed fully: a fresh key
	}
	events := max(n, 1)
	newTAT := tat.Add(interval * time.Duration(events))
	// diff >= 0 means the events fit: newTAT lies within one burst of now.
	diff := now.Sub(newTAT.Add(-burstOffset))
	if diff < 0 {
		return Result{RetryAfter: -diff}, tat
	}
	return Result{Allowed: true, Remaining: int(diff/interval) + events - n}, newTAT
}
