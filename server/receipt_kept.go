package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/candour/candour/crypto"
)

// A report whose answer never reached its browser must not leave a case
// whose code nobody saw. A double click on "Send report", or Tor Browser's
// "Try again" after a slow circuit, sends the same form twice: the browser
// abandons the first request and shows only the answer to the second, but
// the server may well have the first one whole, and store it. The form's
// one-time token (form_token.go) keeps the second from making a second
// case; on its own it could only answer "already received", with a code
// the reporter never saw.
//
// So the receipt of a new report (its case code and file list) is held,
// keyed by the hash of the form's token, for
// receiptKept after it is stored, and a repeat of the form within that
// time gets the same receipt page. A repeat that arrives while the first
// attempt is still in flight waits for its outcome: its receipt, or, if it
// failed (and so stored nothing, and did not use the token), the repeat
// goes on as the report. Only the holder of the token (256 random bits, in
// the reporter's form) can get the code this way.
//
// On SQLite (one instance) the receipts are in this process's memory
// (receiptStore, here). Nothing of this is written to disk or logged; an
// entry is dropped and its code bytes
// overwritten when its time is up (by the sweep that runs every minute) or
// when the table is full. After that, or after a restart, a repeat gets
// the page that keeps what it carried and offers to send it as a new
// report (report_submit.go). When several instances share a PostgreSQL
// database, a repeat may reach another instance: the receipts are then in
// the database, sealed under a key derived from the form's token, which
// only the reporter's form holds (dbReceipts, receipt_db.go).
const (
	receiptKept = 10 * time.Minute
	// maxReceiptsKept bounds the table: at the default submission budget
	// (60 a minute) ten minutes of receipts fit with room to spare. When it
	// is full, the receipt that would expire soonest goes.
	maxReceiptsKept = 1024
)

// receiptKeeper is where receipts are kept: receiptStore or dbReceipts.
type receiptKeeper interface {
	// enter is called with a report form's token and its hash as they are
	// read. It returns the receipt of the report that form already made,
	// or a claim: this request is the form's attempt in flight. While
	// another attempt of the same form is in flight it waits for its
	// outcome, for up to wait (or until ctx ends), then answers errBusy.
	enter(ctx context.Context, token string, hash []byte, wait time.Duration) (*receipt, *receiptClaim, error)
	// sweep drops the receipts whose time is up.
	sweep(ctx context.Context)
}

// receiptStore keeps receipts in this process's memory.
type receiptStore struct {
	mu     sync.Mutex
	m      map[[32]byte]*receiptEntry
	stored int // entries with a receipt (the others are in flight)
	now    func() time.Time
}

type receiptEntry struct {
	// done is closed when the attempt that claimed the token has ended,
	// stored or not.
	done chan struct{}
	// Set, under the store's lock, before done is closed.
	stored  bool
	code    []byte
	files   []crypto.Attachment
	channel string
	expires time.Time
}

func newReceiptStore(now func() time.Time) *receiptStore {
	return &receiptStore{m: map[[32]byte]*receiptEntry{}, now: now}
}

// receiptClaim is held by the one request that is a form's attempt in
// flight. It ends with keep (the report is stored) or drop (anything
// else); drop after keep does nothing, so a handler may defer it.
type receiptClaim struct {
	// shared is set for a claim of dbReceipts; the other fields for one
	// of receiptStore.
	shared *dbReceiptClaim
	rs     *receiptStore
	key    [32]byte
	e      *receiptEntry
	ended  bool
}

func (rs *receiptStore) enter(ctx context.Context, _ string, hash []byte, wait time.Duration) (*receipt, *receiptClaim, error) {
	var key [32]byte
	copy(key[:], hash)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		rs.mu.Lock()
		rs.sweepLocked()
		e, ok := rs.m[key]
		if !ok {
			e = &receiptEntry{done: make(chan struct{})}
			rs.m[key] = e
			rs.mu.Unlock()
			return nil, &receiptClaim{rs: rs, key: key, e: e}, nil
		}
		if e.stored {
			rec := &receipt{Code: string(e.code), Files: slices.Clone(e.files), Channel: e.channel}
			rs.mu.Unlock()
			return rec, nil, nil
		}
		rs.mu.Unlock()
		select {
		case <-e.done:
			// Stored (the next round finds the receipt) or failed (the
			// next round claims the token).
		case <-ctx.Done():
			return nil, nil, errBusy
		case <-timer.C:
			return nil, nil, errBusy
		}
	}
}

// keep records the receipt of the stored report and wakes any waiting
// repeat.
func (c *receiptClaim) keep(r receipt) {
	if c == nil || c.ended {
		return
	}
	c.ended = true
	if c.shared != nil {
		c.shared.keep(r)
		return
	}
	rs := c.rs
	rs.mu.Lock()
	defer rs.mu.Unlock()
	c.e.stored = true
	c.e.code = []byte(r.Code)
	c.e.files = slices.Clone(r.Files)
	c.e.channel = r.Channel
	c.e.expires = rs.now().Add(receiptKept)
	rs.stored++
	for rs.stored > maxReceiptsKept {
		var oldestKey [32]byte
		var oldest *receiptEntry
		for k, o := range rs.m {
			if o.stored && (oldest == nil || o.expires.Before(oldest.expires)) {
				oldestKey, oldest = k, o
			}
		}
		rs.deleteLocked(oldestKey, oldest)
	}
	close(c.e.done)
}

// drop ends a claim whose report was not stored: a waiting repeat claims
// the token in its turn.
func (c *receiptClaim) drop() {
	if c == nil || c.ended {
		return
	}
	c.ended = true
	if c.shared != nil {
		c.shared.drop()
		return
	}
	rs := c.rs
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.m[c.key] == c.e {
		delete(rs.m, c.key)
	}
	close(c.e.done)
}

// sweep drops the receipts whose time is up (every minute, in the
// background, and on the way into the table).
func (rs *receiptStore) sweep(context.Context) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.sweepLocked()
}

func (rs *receiptStore) sweepLocked() {
	now := rs.now()
	for k, e := range rs.m {
		if e.stored && !now.Before(e.expires) {
			rs.deleteLocked(k, e)
		}
	}
}

// deleteLocked drops a stored receipt, overwriting its code first. (Go
// cannot promise that no other copy of the code is left in memory, such as
// the page rendered from it, until the garbage collector reuses it.)
func (rs *receiptStore) deleteLocked(k [32]byte, e *receiptEntry) {
	clear(e.code)
	e.code, e.files = nil, nil
	delete(rs.m, k)
	rs.stored--
}

// count is how many receipts are held and how many attempts are in
// flight, for tests.
func (rs *receiptStore) count() (stored, inFlight int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.stored, len(rs.m) - rs.stored
}
