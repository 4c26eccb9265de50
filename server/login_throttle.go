package server

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/candour/candour/storage"
)

// Login throttling, on top of what pquerna/otp does (nothing): after
// freeFailures wrong attempts an account is locked for a delay that doubles
// with each further failure, up to maxLock. Unknown usernames are throttled
// the same way, so that a lock reveals nothing about which accounts exist.
// Overall, once more than globalBudget failures happened in the last
// minute, every attempt waits longer, whatever the account.
//
// All of it is kept in the database (storage/shared_limits.go), so that
// every instance on one database sees the same counts and locks:
//
//   - An account's failures are counted, and its lock set from the new
//     count, in one atomic update inside the change that audits the
//     failure (CountStaffLoginFailure); a login that succeeds checks the
//     lock again inside its own change (EnsureStaffUnlocked). Write
//     transactions run one at a time across instances, so in their commit
//     order the limit is exact: a guess whose check ran on one instance
//     while another instance's failures locked the account is refused at
//     commit, right or wrong, and counted. Concurrency only lets up to one
//     guess per instance be checked at once (the striped lock below keeps
//     one per username within an instance); no more of them can succeed
//     than the limit allows.
//   - Unknown usernames: their failures and locks are kept by a keyed,
//     memory-hard hash of the name (nameHash), never the name, which may be
//     a password typed in the wrong field. A day after its last failure a
//     name is forgotten.
//   - The overall count: one count per minute (RecentLoginFailures).
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
	db    *storage.DB
	names [64]sync.Mutex // striped per-username locks, within this instance
	// key is the installation's key for nameHash (storage.LoginNameKey),
	// the same on every instance.
	key []byte
}

func newLoginThrottle(ctx context.Context, db *storage.DB) (*loginThrottle, error) {
	key, err := db.LoginNameKey(ctx)
	if err != nil {
		return nil, err
	}
	return &loginThrottle{db: db, key: key}, nil
}

// globalDelay is the extra wait for every attempt while failures overall
// are over budget.
func (t *loginThrottle) globalDelay(ctx context.Context) (time.Duration, error) {
	n, err := t.db.RecentLoginFailures(ctx)
	if err != nil {
		return 0, err
	}
	over := n - globalBudget
	if over <= 0 {
		return 0, nil
	}
	return min(time.Duration(over)*200*time.Millisecond, 10*time.Second), nil
}

// nameHash is what the database knows of a username typed at login:
// Argon2id of the (lower-cased) name under the installation's key, at
// OWASP's smallest recommended cost (19 MiB, one pass), so that a stolen
// database cannot be searched cheaply for a password typed as a name.
// Every login computes it, for known accounts too, so that it costs the
// same time whether the account exists or not.
func (t *loginThrottle) nameHash(name string) []byte {
	return argon2.IDKey([]byte(name), t.key, 1, 19*1024, 1, 32)
}

// failed counts a failed login inside a change: overall, and for an
// unknown name (nameHash) when one is given.
func (t *loginThrottle) failed(ctx context.Context, nameHash []byte) error {
	if nameHash != nil {
		if err := t.db.CountNameFailure(ctx, nameHash, lockFor); err != nil {
			return err
		}
	}
	return t.db.CountLoginFailure(ctx)
}

// lockName serialises login attempts for one username within this
// instance, so that parallel attempts do not all pay for a password check
// that the first one's failure makes moot (across instances, the database
// keeps the limit: see above).
func (t *loginThrottle) lockName(name string) (unlock func()) {
	h := fnv.New32a()
	h.Write([]byte(name))
	m := &t.names[h.Sum32()%uint32(len(t.names))]
	m.Lock()
	return m.Unlock
}

// nameLocked reports whether an unknown name (nameHash) is locked now.
func (t *loginThrottle) nameLocked(ctx context.Context, nameHash []byte) (bool, error) {
	until, err := t.db.NameLockedUntil(ctx, nameHash)
	if err != nil {
		return false, err
	}
	return t.db.Now().Before(until), nil
}
