package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// samples are rates measured in turns with what they are compared with:
// on a shared machine, slow drift then weighs on both alike, and the spread
// shows how much the machine drifted meanwhile.
type samples []float64

func (f samples) mean() float64 {
	sum := 0.0
	for _, x := range f {
		sum += x
	}
	return sum / float64(len(f))
}

func (f samples) String(unit string) string {
	lo, hi := f[0], f[0]
	for _, x := range f {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%.1f %s (%.1f–%.1f over %d runs)", f.mean(), unit, lo, hi, len(f))
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
// done in this process with nothing else: seal the text with age to the
// organisation's keys plus a case key (crypto.SealMessage, one goroutine
// per CPU), and store it with one durable SQLite commit per message
// (storage.AddMessage, one message at a time, so no two messages share a
// commit) in a fresh database on the same disk as the server's.
func sealCommitFloor(dir string, rs *crypto.Recipients, body string, d time.Duration) (float64, error) {
	dbDir, err := os.MkdirTemp(dir, "floor-db-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dbDir)
	db, err := storage.Open(dbDir)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	ctx := context.Background()
	id, err := crypto.NewCaseIdentity(rs.Kind())
	if err != nil {
		return 0, err
	}
	recipients, err := rs.ForCase(id.Recipient())
	if err != nil {
		return 0, err
	}
	kdf, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 8 << 10, Threads: 1, Salt: make([]byte, 32)})
	if err != nil {
		return 0, err
	}
	first, err := crypto.SealMessage(crypto.Message{Text: body}, recipients)
	if err != nil {
		return 0, err
	}
	cs, err := db.CreateCase(ctx, storage.NewCase{Ref: "FLOOR", LookupID: make([]byte, 32), KDFID: kdf.ID,
		WrappedIdentity: []byte("x"), Recipient: id.Recipient(), First: storage.NewMessage{Ciphertext: first}})
	if err != nil {
		return 0, err
	}

	sealed := make(chan []byte, runtime.NumCPU())
	stop, failed := make(chan struct{}), make(chan struct{})
	var sealErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				b, err := crypto.SealMessage(crypto.Message{Text: body}, recipients)
				if err != nil {
					once.Do(func() { sealErr = err; close(failed) })
					return
				}
				select {
				case sealed <- b:
				case <-stop:
					return
				}
			}
		})
	}
	n := 0
	start := time.Now()
	end := start.Add(d)
	var commitErr error
loop:
	for time.Now().Before(end) {
		var b []byte
		select {
		case b = <-sealed:
		case <-failed:
			break loop
		}
		if _, err := db.AddMessage(ctx, cs.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: b}); err != nil {
			commitErr = err
			break
		}
		n++
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	if sealErr != nil {
		return 0, sealErr
	}
	if commitErr != nil {
		return 0, commitErr
	}
	return float64(n) / elapsed.Seconds(), nil
}
