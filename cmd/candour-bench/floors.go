package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// samples are rates measured in turns with what they are compared with:
// on a shared machine, slow drift then weighs on both alike, and the spread
// shows how much the machine drifted meanwhile. A floor is its median: one
// run slowed by a neighbour (or one run of a cold process) does not move
// it, as it would move a mean.
type samples []float64

func (f samples) median() float64 {
	s := slices.Clone(f)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func (f samples) min() float64 { return slices.Min(f) }

// String gives the median, then the least and greatest.
func (f samples) String(unit string) string {
	return fmt.Sprintf("%.1f %s (median; %.1f–%.1f over %d runs)", f.median(), unit, f.min(), slices.Max(f), len(f))
}

// kdfFloor is bare Argon2id derivations per second with the server's
// parameters, conc at a time: the server's --kdf-concurrency. Each
// derivation runs Threads lanes itself, as in the server.
//
// It measures the warm steady state, as in a busy server: derivations run
// for a second before the timed window, so that the heap has grown to hold
// several derivations' memory and the garbage collector hands freed memory
// to the next derivation rather than back to the kernel (64 MiB of fresh
// pages, faulted in and zeroed, cost a derivation up to half again). The
// caller keeps GOGC high across calls (see keepKDFHeap).
func kdfFloor(p crypto.KDFParams, conc int, d time.Duration) (float64, error) {
	code, err := crypto.NewCaseCode()
	if err != nil {
		return 0, err
	}
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	start := time.Now().Add(time.Second)
	end := start.Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for time.Now().Before(end) {
				if _, err := p.Derive(code); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if now := time.Now(); now.After(start) && now.Before(end) {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds(), firstErr
}

// keepKDFHeap raises GOGC for the length of benchmark 1's floor runs, so
// that memory freed by one derivation is reused rather than returned to the
// kernel between runs (see kdfFloor). It returns the function that restores
// it.
func keepKDFHeap() (restore func()) {
	old := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(old) }
}

// sealCommitFloor is what the server must do for each follow-up message,
// done in this process with nothing else around it: seal the text with age
// to the same five recipients (crypto.SealMessage, one goroutine per
// processor, GOMAXPROCS, never waiting for a commit), and store it durably
// with storage.AddMessage from as many concurrent writers as the server has
// clients, so that the messages that arrive during a commit share the next
// one, as in the server (storage/group.go), in a fresh database on the same
// disk as the server's, opened with the same settings (storage.Open). The
// first second is not counted: as the server's runs, it starts warm.
//
// It returns the rate, and the processor time this process spent per
// message stored, warm-up included: on a machine shared with other work,
// that is a figure the other work hardly moves.
//
// The floor used to commit one message at a time while the server groups
// its commits, so the server "beat" it every time.
func sealCommitFloor(dir string, rs *crypto.Recipients, channel []age.Recipient, body string, writers int, d time.Duration) (rate float64, cpuPerMsg time.Duration, err error) {
	dbDir, err := os.MkdirTemp(dir, "floor-db-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dbDir)
	db, err := storage.Open(dbDir)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	return sealCommitOn(db, selfCPU, rs, channel, body, writers, d)
}

// sealCommitOn is sealCommitFloor's work on db, a fresh database of either
// engine; cpu gives the processor time used so far by all that does the
// work (this process, and on PostgreSQL its cluster too).
func sealCommitOn(db *storage.DB, cpu func() time.Duration, rs *crypto.Recipients, channel []age.Recipient, body string, writers int, d time.Duration) (rate float64, cpuPerMsg time.Duration, err error) {
	ctx := context.Background()
	id, err := crypto.NewCaseIdentity(rs.Kind())
	if err != nil {
		return 0, 0, err
	}
	recipients, err := rs.ForCaseIdentity(id)
	if err != nil {
		return 0, 0, err
	}
	recipients = append(recipients, channel...)
	kdf, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 8 << 10, Threads: 1, Salt: make([]byte, 32)})
	if err != nil {
		return 0, 0, err
	}
	first, err := crypto.SealMessage(crypto.Message{Text: body}, recipients)
	if err != nil {
		return 0, 0, err
	}
	cs, err := db.CreateCase(ctx, storage.NewCase{Ref: "FLOOR", LookupID: make([]byte, 32), KDFID: kdf.ID,
		WrappedIdentity: []byte("x"), Recipient: id.Recipient(), First: storage.NewMessage{Ciphertext: first}})
	if err != nil {
		return 0, 0, err
	}

	cpu0 := cpu()
	start := time.Now().Add(time.Second)
	end := start.Add(d)
	sealed := make(chan []byte, writers)
	var (
		firstErr error
		once     sync.Once
		n, all   atomic.Int64
		sealers  sync.WaitGroup
		commits  sync.WaitGroup
	)
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	for range runtime.GOMAXPROCS(0) {
		sealers.Go(func() {
			for time.Now().Before(end) {
				b, err := crypto.SealMessage(crypto.Message{Text: body}, recipients)
				if err != nil {
					fail(err)
					return
				}
				sealed <- b
			}
		})
	}
	for range writers {
		commits.Go(func() {
			for b := range sealed {
				if _, err := db.AddMessage(ctx, cs.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: b}); err != nil {
					fail(err)
					continue
				}
				all.Add(1)
				if now := time.Now(); now.After(start) && now.Before(end) {
					n.Add(1)
				}
			}
		})
	}
	sealers.Wait()
	close(sealed)
	commits.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	return float64(n.Load()) / d.Seconds(), (cpu() - cpu0) / time.Duration(max(all.Load(), 1)), nil
}
