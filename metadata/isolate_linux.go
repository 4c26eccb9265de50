package metadata

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// processAttributes has the kernel kill a cleaning process if the server
// dies first, so that none outlives it.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func canLimitProcesses() error { return nil }

// limitProcess sets a cleaning process's hard limits, which it cannot
// raise again:
//   - RLIMIT_DATA, memory: since Linux 4.7 it counts every private
//     writable mapping, which is where the Go runtime puts its heap and
//     stacks (RLIMIT_AS cannot be used: the runtime reserves far more
//     address space than it uses). Past it the runtime's next request for
//     memory fails and it exits.
//   - RLIMIT_CPU, processor time: the kernel kills the process with
//     SIGKILL when it is used up (the soft limit is the hard one).
//   - RLIMIT_FSIZE 0: it cannot write a file (its pipes are not files).
//   - RLIMIT_NOFILE: a few descriptors, enough for the runtime.
//   - RLIMIT_CORE 0: no core dump holding the file.
func limitProcess(pid int, memory int64, cpu time.Duration) error {
	secs := uint64(max(1, (cpu+time.Second-1)/time.Second))
	for _, l := range []struct {
		resource int
		value    uint64
	}{
		{unix.RLIMIT_DATA, uint64(memory)},
		{unix.RLIMIT_CPU, secs},
		{unix.RLIMIT_FSIZE, 0},
		{unix.RLIMIT_NOFILE, 16},
		{unix.RLIMIT_CORE, 0},
	} {
		lim := unix.Rlimit{Cur: l.value, Max: l.value}
		if err := unix.Prlimit(pid, l.resource, &lim, nil); err != nil {
			return fmt.Errorf("prlimit %d: %w", l.resource, err)
		}
	}
	return nil
}
