package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Without GOMEMLIMIT, serve gives the Go runtime a soft memory limit
// derived from its Argon2id pool ((slots + 1) × memory + 32 MiB), and
// without GOGC too, a looser pacing of the collector under it; with
// either, the operator's choice stands.
func TestServeSetsAMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		env    []string
		want   string
		absent string // a log line's message that must not be there
	}{
		{"derived from the Argon2id pool without GOMEMLIMIT", nil,
			"memory limit derived from the configuration (set GOMEMLIMIT to choose another)\" limit_mib=64", ""},
		{"left to GOMEMLIMIT when the operator sets it", []string{"GOMEMLIMIT=300MiB"},
			"memory limit set by GOMEMLIMIT\" limit=300MiB", "collector pacing"},
		{"collector paced loosely under the derived limit", nil,
			"collector pacing raised under the memory limit (set GOGC to choose another)\" gc_percent=200", ""},
		{"collector paced by GOGC when the operator sets it", []string{"GOGC=150"},
			"collector pacing set by GOGC\" gogc=150", "collector pacing raised"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, recipients := newKey(t, dir)
			cmd := exec.Command(candourBin, "serve", "--addr", freeAddr(t), "--data", filepath.Join(dir, "data"),
				"--recipients", recipients, "--kdf-memory-mib", "8", "--kdf-time", "1", "--kdf-concurrency", "3")
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GOGC=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, tc.env...)
			onEngine(t, cmd)
			var logs lockedBuffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			waitFor(t, "candour serve to listen", func() (bool, error) {
				return strings.Contains(logs.String(), "candour is listening"), nil
			})
			if !strings.Contains(logs.String(), tc.want) {
				t.Errorf("the log does not say %q:\n%s", tc.want, logs.String())
			}
			if tc.absent != "" && strings.Contains(logs.String(), tc.absent) {
				t.Errorf("the log says %q:\n%s", tc.absent, logs.String())
			}
		})
	}
}
