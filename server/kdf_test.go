package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// waitUntil waits for cond on the pool's state; the deadline only guards
// against a hang.
func waitUntil(t *testing.T, p *kdfPool, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p.mu.Lock()
		ok := cond()
		p.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 2 minutes waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestKDFPoolServesNewReportsBeforeLogins(t *testing.T) {
	t.Parallel()
	p := newKDFPool(1)
	ctx := context.Background()
	if err := p.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	waiter := func(name string, urgent bool) {
		wg.Go(func() {
			if err := p.acquire(ctx, urgent); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			p.release()
		})
	}
	// Two logins wait first, then a new report.
	waiter("login 1", false)
	waitUntil(t, p, "login 1 waits", func() bool { return len(p.normal) == 1 })
	waiter("login 2", false)
	waitUntil(t, p, "login 2 waits", func() bool { return len(p.normal) == 2 })
	waiter("report", true)
	waitUntil(t, p, "the report waits", func() bool { return len(p.urgent) == 1 })
	p.release()
	wg.Wait()
	want := []string{"report", "login 1", "login 2"}
	if len(order) != 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Errorf("slots went to %v, want %v", order, want)
	}
	if p.free != 1 || len(p.urgent)+len(p.normal) != 0 {
		t.Errorf("after all: %d free, %d waiting; want 1 free, none waiting", p.free, len(p.urgent)+len(p.normal))
	}
}

func TestKDFPoolBoundsDerivationsAtOnce(t *testing.T) {
	t.Parallel()
	p := newKDFPool(2)
	ctx := context.Background()
	for range 2 {
		if err := p.acquire(ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.acquire(cctx, true); !errors.Is(err, errBusy) {
		t.Errorf("a third derivation with both slots taken: %v, want errBusy", err)
	}
	p.release()
	p.release()
	if p.free != 2 {
		t.Errorf("%d slots free, want 2", p.free)
	}
}

// A waiter that gives up just as a slot is handed to it must pass the slot
// on, or the pool would shrink for good.
func TestKDFPoolLosesNoSlotWhenWaitersGiveUp(t *testing.T) {
	t.Parallel()
	p := newKDFPool(1)
	for i := range 300 {
		if err := p.acquire(context.Background(), false); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan error, 1)
		urgent := i%2 == 0
		go func() { got <- p.acquire(ctx, urgent) }()
		waitUntil(t, p, "the waiter waits", func() bool { return len(p.urgent)+len(p.normal) == 1 })
		// Hand over the slot and give up at the same moment.
		go cancel()
		p.release()
		if err := <-got; err == nil {
			p.release()
		} else if !errors.Is(err, errBusy) {
			t.Fatal(err)
		}
		waitUntil(t, p, "the slot is back", func() bool { return p.free == 1 })
		if len(p.urgent)+len(p.normal) != 0 {
			t.Fatalf("round %d: %d waiters left", i, len(p.urgent)+len(p.normal))
		}
	}
}

// Even while new reports queue without end, a login gets one slot in
// urgentRun+1.
func TestKDFPoolStarvesNoLogin(t *testing.T) {
	t.Parallel()
	p := newKDFPool(1)
	ctx := context.Background()
	if err := p.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	queue := func(name string, urgent bool, n int) {
		wg.Go(func() {
			if err := p.acquire(ctx, urgent); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			p.release()
		})
		waitUntil(t, p, name+" waits", func() bool { return len(p.urgent)+len(p.normal) == n })
	}
	queue("login", false, 1)
	for i := range 2 * urgentRun {
		queue("report", true, i+2)
	}
	p.release()
	wg.Wait()
	login := -1
	for i, name := range order {
		if name == "login" {
			login = i
		}
	}
	if login != urgentRun {
		t.Errorf("the login got the slot after %d reports, want %d: %v", login, urgentRun, order)
	}
}
