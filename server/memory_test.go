package server_test

import (
	"testing"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/server"
)

// The soft memory limit holds the Argon2id pool's derivations, one more
// derivation's garbage, and a base of 32 MiB.
func TestMemoryLimitFollowsTheArgon2idPool(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  server.Config
		mib  int64
	}{
		{"defaults: 2 slots of 64 MiB", server.Config{}, 3*64 + 32},
		{"4 slots of 256 MiB", server.Config{KDFConcurrency: 4,
			KDF: crypto.KDFParams{Time: 3, MemoryKiB: 256 << 10, Threads: 2}}, 5*256 + 32},
		{"1 slot of 8 MiB", server.Config{KDFConcurrency: 1,
			KDF: crypto.KDFParams{Time: 1, MemoryKiB: 8 << 10, Threads: 1}}, 2*8 + 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.MemoryLimit(); got != tc.mib<<20 {
				t.Errorf("MemoryLimit() = %d MiB, want %d MiB", got>>20, tc.mib)
			}
		})
	}
}
