package server

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// The receipts held for repeated report forms are bounded in number and
// time, and a dropped one has its code overwritten.
func TestReceiptsKeptAreBoundedAndWiped(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	rs := newReceiptStore(func() time.Time { return now })
	hash := func(i int) []byte { h := make([]byte, 32); h[0], h[1] = byte(i), byte(i>>8); return h }
	var first *receiptEntry
	for i := range maxReceiptsKept + 5 {
		rec, claim, err := rs.enter(context.Background(), "", hash(i), time.Second)
		if err != nil || rec != nil || claim == nil {
			t.Fatalf("entry %d: %v, %v, %v", i, rec, claim, err)
		}
		if i == 0 {
			first = claim.e
		}
		claim.keep(receipt{Code: "ABCD-EFGH-JKMN-PQRS-TVWX"})
		claim.drop() // after keep: changes nothing
		now = now.Add(time.Millisecond)
	}
	if stored, inFlight := rs.count(); stored != maxReceiptsKept || inFlight != 0 {
		t.Errorf("%d receipts held, %d in flight; want %d and 0", stored, inFlight, maxReceiptsKept)
	}
	if first.code != nil {
		t.Error("the receipt dropped for room still holds its code")
	}
	// The newest is still there; the oldest gave way.
	if rec, _, _ := rs.enter(context.Background(), "", hash(maxReceiptsKept+4), time.Second); rec == nil || rec.Code != "ABCD-EFGH-JKMN-PQRS-TVWX" {
		t.Errorf("the newest receipt: %v", rec)
	}
	_, claim, _ := rs.enter(context.Background(), "", hash(0), time.Second)
	if claim == nil {
		t.Fatal("the oldest receipt is still held")
	}
	claim.drop()

	code := rs.m[[32]byte(hash(maxReceiptsKept+4))].code
	now = now.Add(receiptKept)
	rs.sweep(context.Background())
	if stored, inFlight := rs.count(); stored != 0 || inFlight != 0 {
		t.Errorf("after %v: %d receipts held, %d in flight", receiptKept, stored, inFlight)
	}
	if !bytes.Equal(code, make([]byte, len(code))) {
		t.Errorf("a swept receipt's code was not overwritten: %q", code)
	}
}

// A repeat waiting for its first attempt gives up when its wait is over,
// with the first attempt still in flight (nothing else ended the wait).
// Were the bound ignored, the repeat would wait for ever and the test would
// hang: no clock is read here.
func TestARepeatWaitsNoLongerThanItsBound(t *testing.T) {
	t.Parallel()
	rs := newReceiptStore(time.Now)
	h := make([]byte, 32)
	_, claim, _ := rs.enter(context.Background(), "", h, time.Second)
	defer claim.drop()
	if _, _, err := rs.enter(context.Background(), "", h, 50*time.Millisecond); err != errBusy {
		t.Errorf("err %v, want errBusy", err)
	}
	if stored, inFlight := rs.count(); stored != 0 || inFlight != 1 {
		t.Errorf("after the repeat gave up: %d receipts held, %d in flight; want the first attempt still in flight", stored, inFlight)
	}
}
