package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// startRuns is how many times benchmark 6 starts the server (and its
// floor); the median is reported.
const startRuns = 5

// benchStartup is benchmark 6: the time from exec to the first 200 on
// /healthz of `candour serve` over a new data folder (which includes
// creating and migrating the database), and its RSS once idle. The floor is
// the same binary doing nothing: `candour help`, exec to exit, and its
// peak RSS.
func benchStartup(e *env) ([]result, error) {
	var startups []time.Duration
	var rss []int64
	var floorTimes []time.Duration
	var floorRSS []int64
	for range startRuns {
		start := time.Now()
		cmd := exec.Command(e.o.candour, "help")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("candour help: %v: %s", err, out)
		}
		floorTimes = append(floorTimes, time.Since(start))
		floorRSS = append(floorRSS, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)

		s, err := e.startServer()
		if err != nil {
			return nil, err
		}
		startups = append(startups, s.startup)
		time.Sleep(time.Second) // idle: start-up garbage collected, nothing to do
		rss = append(rss, s.status("VmRSS"))
		s.stop()
		os.RemoveAll(filepath.Dir(s.data))
	}
	st, ft := median(startups), median(floorTimes)
	r, fr := median(rss), median(floorRSS)
	return []result{{
		id:       "6a",
		what:     "start-up of `candour serve` over a new data folder, exec to first 200 on /healthz",
		measured: ms(st),
		floor:    "`candour help`, exec to exit: " + ms(ft),
		ratio:    float64(ft) / float64(st),
		notes:    []string{fmt.Sprintf("median of %d; all: %v", startRuns, roundAll(startups))},
	}, {
		id:       "6b",
		what:     "idle RSS of `candour serve` (VmRSS 1 s after start)",
		measured: mib(r),
		floor:    "`candour help`, peak RSS: " + mib(fr),
		ratio:    float64(fr) / float64(r),
	}}, nil
}

func median[T int64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Microsecond)
	}
	return out
}
