package server

import (
	"hash/fnv"
	"sync"
	"time"
)

// Login throttling, on top of what pquerna/otp does (nothing): after
// freeFailures wrong attempts an account is locked for a delay that doubles
// with each further failure, up to maxLock. Unknown usernames are throttled
// the same way, in memory, so that a lock reveals nothing about which
// accounts exist. Overall, once more than globalBudget failures happened in
// the last minute, every attempt waits longer, whatever the account.
const (
	freeFailures = 3
	baseLock     = 5 * time.Second
	maxLock      = 15 * time.Minute
	globalBudget = 30
)

func lockFor(failures int) time.Duration {
	if failures < freeFailures {
		return 0
	}
	d := baseLock << min(failures-freeFailures, 20)
	return min(d, maxLock)
}

type loginThrottle struct {
	names    [64]sync.Mutex // striped per-username locks
	mu       sync.Mutex
	unknown  map[string]unknownFailures
	failures []time.Time // failures in the last minute, overall
}

type unknownFailures struct {
	count       int
	lockedUntil time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{unknown: map[string]unknownFailures{}}
}

// globalDelay is the extra wait for every attempt while failures overall
// are over budget.
func (t *loginThrottle) globalDelay(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	cut := 0
	for cut < len(t.failures) && now.Sub(t.failures[cut]) > time.Minute {
		cut++
	}
	t.failures = t.failures[cut:]
	over := len(t.failures) - globalBudget
	if over <= 0 {
		return 0
	}
	return min(time.Duration(over)*200*time.Millisecond, 10*time.Second)
}

func (t *loginThrottle) fail(now time.Time, unknownName string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures = append(t.failures, now)
	if unknownName != "" {
		if len(t.unknown) > 10000 {
			t.unknown = map[string]unknownFailures{}
		}
		u := t.unknown[unknownName]
		u.count++
		u.lockedUntil = now.Add(lockFor(u.count))
		t.unknown[unknownName] = u
	}
}

// lockName serialises login attempts for one username.
func (t *loginThrottle) lockName(name string) (unlock func()) {
	h := fnv.New32a()
	h.Write([]byte(name))
	m := &t.names[h.Sum32()%uint32(len(t.names))]
	m.Lock()
	return m.Unlock
}

func (t *loginThrottle) unknownLocked(now time.Time, name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return now.Before(t.unknown[name].lockedUntil)
}
