//go:build !linux

package metadata

import (
	"errors"
	"syscall"
	"time"
)

func processAttributes() *syscall.SysProcAttr { return nil }

// canLimitProcesses refuses isolation where the kernel limits it relies on
// (prlimit with RLIMIT_DATA counting the heap) are not known to work.
func canLimitProcesses() error {
	return errors.New("cleaning files in limited processes needs Linux")
}

func limitProcess(pid int, memory int64, cpu time.Duration) error {
	return canLimitProcesses()
}
