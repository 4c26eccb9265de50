package server

import (
	"context"
	"time"

	"github.com/candour/candour/crypto"
)

// kdfPool bounds concurrent Argon2id derivations. Each takes the configured
// memory (64 MiB by default), so without a bound a flood of follow-up
// attempts would exhaust the machine's memory. Waiters give up after
// kdfWait and get a "busy" page.
type kdfPool struct{ sem chan struct{} }

const kdfWait = 30 * time.Second

func newKDFPool(n int) *kdfPool { return &kdfPool{sem: make(chan struct{}, n)} }

// run runs fn (an Argon2id password check, say) within the pool's bound.
func (p *kdfPool) run(ctx context.Context, fn func()) error {
	ctx, cancel := context.WithTimeout(ctx, kdfWait)
	defer cancel()
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return errBusy
	}
	defer func() { <-p.sem }()
	fn()
	return nil
}

func (p *kdfPool) derive(ctx context.Context, params crypto.KDFParams, code crypto.CaseCode) (crypto.CaseKeys, error) {
	ctx, cancel := context.WithTimeout(ctx, kdfWait)
	defer cancel()
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return crypto.CaseKeys{}, errBusy
	}
	defer func() { <-p.sem }()
	return params.Derive(code)
}
