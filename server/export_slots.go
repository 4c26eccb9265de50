package server

import (
	"net/http"
	"sync"
)

// Console exports hold a database snapshot (one of the few read
// connections) for as long as their download lasts, which over Tor or an
// unread connection can be many minutes: unbounded, a few of them would
// leave every page, reporters' included, waiting for a connection (and
// keep the WAL from being checkpointed). So at most maxExports run at
// once, at most one per staff member; another is refused at once.
const maxExports = 2

// exportSlots counts the console exports being sent.
type exportSlots struct {
	mu      sync.Mutex
	running map[int64]bool // by staff id
}

// errExportBusy answers an export asked for while too many are sent.
var errExportBusy = &staffError{status: http.StatusServiceUnavailable, title: "Another export is being sent",
	message: "An export is still being downloaded (yours, or two of your colleagues'): each holds part of the server's database while it is sent. " +
		"Nothing was changed. Try again once it has finished downloading.", back: "/staff/"}

// take reserves a slot for staff, or reports that none is free.
func (e *exportSlots) take(staff int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running == nil {
		e.running = map[int64]bool{}
	}
	if e.running[staff] || len(e.running) >= maxExports {
		return false
	}
	e.running[staff] = true
	return true
}

// release frees staff's slot.
func (e *exportSlots) release(staff int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.running, staff)
}
