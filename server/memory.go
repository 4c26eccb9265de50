package server

// memoryBase is what a server holds besides its Argon2id derivations, for
// MemoryLimit: templates, catalogues, sessions, the buffers of requests in
// progress and of uploads (two 1 MiB chunks each while a file streams in),
// and the runtime's own. An idle server holds about 10 MiB of it.
const memoryBase = 32 << 20

// GCPercent is the pacing of the collector (runtime/debug.SetGCPercent)
// that candour serve sets together with MemoryLimit, unless the operator
// sets GOGC or GOMEMLIMIT: a collection starts when the heap has grown by
// twice what the last one left live, rather than by as much again.
//
// Outside the Argon2id derivations the live heap is small (10–20 MiB), so
// at the runtime's default of 100 the collector ran every few MiB of
// allocation: under a stream of follow-up messages it took 10–15 % of the
// server's processor, which the looser pacing cuts by more than half.
// Memory stays bounded by MemoryLimit, which the collector keeps to
// whatever the pacing. But a looser pacing lets the heap reach the limit
// more often, and the limit bounds only Go's heap: at 400 the peak RSS
// under benchmarks 1, 2 and 5 rose from about 240 to 251 MiB, close to
// the 256 MiB it must stay under; at 200 it stayed about 235 MiB (see
// "Memory without GOMEMLIMIT" in docs/benchmarks.md).
const GCPercent = 200

// MemoryLimit is a soft limit on the Go runtime's memory for a server with
// this configuration, which candour serve gives the runtime
// (runtime/debug.SetMemoryLimit) unless the operator sets GOMEMLIMIT.
//
// Each case-code derivation allocates the KDF's memory afresh (64 MiB by
// default: golang.org/x/crypto/argon2 takes no buffer to reuse) and drops
// it when done. By default the collector lets garbage grow as large as
// the live heap before it collects, so with KDFConcurrency derivations
// live, as much again of dead ones piled up: 365–500 MiB of RSS for two
// slots of 64 MiB. The limit is what the pool may hold live, plus room for
// one derivation's garbage (so that the memory of one finished derivation
// is collected and reused for the next, rather than handed back to the
// kernel and faulted in again), plus memoryBase: 224 MiB by default.
//
// The limit is soft: when more is live (staff password checks, which have
// a pool of their own, on top of a full case-code pool; many documents
// being cleaned at once) the collector runs more often, up to half the
// processor, and the process grows past it rather than failing.
func (c Config) MemoryLimit() int64 {
	c.setDefaults()
	kdf := int64(c.KDF.MemoryKiB) << 10
	return int64(c.KDFConcurrency+1)*kdf + memoryBase
}
