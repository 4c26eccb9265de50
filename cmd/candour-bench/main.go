// Command candour-bench measures how close Candour comes to this machine's
// limits. It runs the real `candour` binary on 127.0.0.1 with a fresh data
// folder, drives it over HTTP, and measures in the same run, in this
// process, a floor for each figure: what the unavoidable work (an Argon2id
// derivation, age encryption, a durable SQLite commit, the stock `age`
// command) costs on this machine right now. Machines here are shared and
// noisy, so each result is given as a ratio against its floor, and each
// server measurement is made in three runs, alternating with four runs of
// its floor, so that slow drift of the machine weighs on both alike, and
// both are given as the median of their runs (a floor that needs warming
// up first runs once untimed).
//
// The same scenarios then run on PostgreSQL (bench_pg.go, bench_inbox.go),
// in the same run, on a throwaway cluster of its own (internal/pgtest),
// with new cases on two instances of one database against one, and a
// second table compares the engines.
//
// It prints a Markdown table for docs/benchmarks.md. `make bench` runs it;
// see docs/benchmarks.md for what each benchmark means and which server
// flags it uses.
//
//	candour-bench --candour .bin/candour --age .bin/age
//
// To see where the server spends its time, build it with its profiler and
// save a CPU profile of each measurement:
//
//	go build -tags pprof -o .bin/candour-pprof ./cmd/candour
//	candour-bench --candour .bin/candour-pprof --pprof /tmp/profiles
//	go tool pprof -top .bin/candour-pprof /tmp/profiles/2-messages.pprof
//
// Benchmark 3 also saves the heap profile of each upload's server once
// its upload is done (NAME-heap.pprof): what was live at the last
// collection, and with -sample_index=alloc_space every byte allocated
// since the start, by call site, which is where the garbage that sets an
// upload's peak RSS shows:
//
//	go tool pprof -sample_index=alloc_space -top .bin/candour-pprof /tmp/profiles/3b-session-heap.pprof
//
// Build the binaries you compare the same way (go build -o, not a copy
// of one): on this machine a copied binary's mapped pages came to about
// 6 MiB less resident memory than the linker's own output, at idle and at
// every peak.
//
// Only loopback addresses are used. Every server it starts is stopped, and
// its temporary folder (which holds a 1 GiB test file during benchmark 3)
// is removed, also on Ctrl-C.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	candour  string
	age      string
	tmp      string
	duration time.Duration
	floorDur time.Duration
	floodDur time.Duration
	floodMem int
	only     map[string]bool
	bigSize  int64
	clients  int
	msgConns int
	hammer   int
	pprofDir string
	verbose  bool
}

func main() {
	var o options
	var only string
	flag.StringVar(&o.candour, "candour", ".bin/candour", "the candour `BINARY` to benchmark")
	flag.StringVar(&o.age, "age", ".bin/age", "the stock age `BINARY` (benchmark 3's floor)")
	flag.StringVar(&o.tmp, "tmp", os.TempDir(), "make the temporary folder (data, keys, the 1 GiB file) in `DIR`")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "how long each server measurement runs in all (in 3 runs, alternating with its floor)")
	flag.DurationVar(&o.floorDur, "floor-duration", 3*time.Second, "how long each of the 4 runs of a floor takes")
	flag.DurationVar(&o.floodDur, "flood-duration", 20*time.Second, "how long each of benchmark 7's 3 loaded runs takes (a login under the flood takes several seconds)")
	flag.IntVar(&o.floodMem, "flood-kdf-memory-mib", 0, "if set, benchmark 7's server derives with this much Argon2id memory (MiB) instead of the default: on a machine many times slower than the reference one, a smaller derivation keeps the proportions of the 30 s wait and the 1 s login floor to a derivation (see docs/benchmarks.md)")
	flag.StringVar(&only, "only", "1,2,3,5,6,7,pg", "comma-separated benchmarks to run (4, the inbox on SQLite, is a Go benchmark in ./storage); on PostgreSQL: pg1 (1 and 8, two instances), pg2, pg3, pg4 (the inbox on both engines), or pg for all four")
	flag.Int64Var(&o.bigSize, "big-size", 1<<30, "size in `BYTES` of benchmark 3's attachment")
	flag.IntVar(&o.clients, "clients", 8, "concurrent submitting clients (benchmarks 1 and 5)")
	flag.IntVar(&o.msgConns, "message-clients", 32, "concurrent clients sending follow-up messages (benchmark 2): enough to keep the server busy while others wait for a group commit")
	flag.IntVar(&o.hammer, "hammer", 20, "clients sending wrong case codes (benchmarks 5 and 7)")
	flag.StringVar(&o.pprofDir, "pprof", "", "if set, start servers with --pprof-addr and save a CPU profile of each server measurement in `DIR`, and a heap profile of each upload server of benchmark 3 (the candour binary must be built with -tags pprof)")
	flag.BoolVar(&o.verbose, "v", false, "log progress details")
	flag.Parse()
	o.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s == "pg" {
			for _, p := range []string{"pg1", "pg2", "pg3", "pg4"} {
				o.only[p] = true
			}
		} else if s != "" {
			o.only[s] = true
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "candour-bench:", err)
		cleanup()
		os.Exit(1)
	}
	cleanup()
}

// cleanups run on exit and on SIGINT/SIGTERM: servers are stopped and the
// temporary folder removed.
var (
	cleanMu  sync.Mutex
	cleanups []func()
)

func atExit(f func()) {
	cleanMu.Lock()
	defer cleanMu.Unlock()
	cleanups = append(cleanups, f)
}

func cleanup() {
	cleanMu.Lock()
	fs := cleanups
	cleanups = nil
	cleanMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// result is one row of the table.
type result struct {
	id       string
	what     string
	measured string
	floor    string
	ratio    float64 // measured against floor: 1 means as fast (or as small) as the floor
	target   string
	met      string // "yes", "no", or "" when there is no target
	notes    []string
	// value is the measured figure as a number, where a comparison of
	// the engines needs it (3a, 3d).
	value float64
}

func run(o options) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		logf("interrupted: stopping servers and removing temporary files")
		cleanup()
		os.Exit(130)
	}()

	var err error
	if o.candour, err = filepath.Abs(o.candour); err != nil {
		return err
	}
	if o.age, err = filepath.Abs(o.age); err != nil {
		return err
	}
	for _, b := range []string{o.candour, o.age} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("%w (make bench builds .bin/candour and installs .bin/age)", err)
		}
	}
	dir, err := os.MkdirTemp(o.tmp, "candour-bench-")
	if err != nil {
		return err
	}
	atExit(func() { os.RemoveAll(dir) })

	loadStart := loadAvg()
	started := time.Now()
	env, err := newEnv(o, dir)
	if err != nil {
		return err
	}
	var results []result
	var comps []comparison
	add := func(rs ...result) {
		results = append(results, rs...)
		for _, r := range rs {
			logf("%s %s: %s (floor %s) ratio %.2f %s", r.id, r.what, r.measured, r.floor, r.ratio, r.met)
		}
	}
	if o.only["6"] {
		rs, err := benchStartup(env)
		if err != nil {
			return fmt.Errorf("benchmark 6: %w", err)
		}
		add(rs...)
	}
	if o.only["1"] || o.only["2"] || o.only["5"] {
		rs, err := benchDefaultServer(env)
		if err != nil {
			return err
		}
		add(rs...)
	}
	if o.only["7"] {
		rs, err := benchLoginFlood(env)
		if err != nil {
			return fmt.Errorf("benchmark 7: %w", err)
		}
		add(rs...)
	}
	if o.only["3"] {
		rs, err := benchUpload(env)
		if err != nil {
			return fmt.Errorf("benchmark 3: %w", err)
		}
		add(rs...)
	}
	if o.only["pg1"] || o.only["pg2"] || o.only["pg3"] || o.only["pg4"] {
		logf("PostgreSQL: starting a cluster of its own under %s", pgTmp(dir))
		if env.pg, err = startPG(pgTmp(dir)); err != nil {
			return err
		}
	}
	if o.only["pg1"] {
		rs, cs, err := benchPGNewCases(env)
		if err != nil {
			return fmt.Errorf("benchmarks 1-pg and 8: %w", err)
		}
		add(rs...)
		comps = append(comps, cs...)
	}
	if o.only["pg2"] {
		rs, cs, err := benchPGMessages(env)
		if err != nil {
			return fmt.Errorf("benchmark 2-pg: %w", err)
		}
		add(rs...)
		comps = append(comps, cs...)
	}
	if o.only["pg3"] {
		rs, err := benchPGUpload(env)
		if err != nil {
			return fmt.Errorf("benchmark 3-pg: %w", err)
		}
		add(rs...)
		comps = append(comps, uploadComparisons(results)...)
	}
	if o.only["pg4"] {
		rs, cs, err := benchInboxPG(env)
		if err != nil {
			return fmt.Errorf("benchmark 4-pg: %w", err)
		}
		add(rs...)
		comps = append(comps, cs...)
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].id < results[j].id })

	host, _ := os.Hostname()
	fmt.Printf("\n### candour-bench, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Printf("Machine: %d CPUs (GOMAXPROCS %d), %s, %s/%s, host %q. Load average (1, 5, 15 min) at start: %s; at end: %s. Took %s.\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), memTotal(), runtime.GOOS, runtime.GOARCH, host,
		loadStart, loadAvg(), time.Since(started).Round(time.Second))
	fmt.Println("| # | benchmark | measured | floor, same run | ratio | target | met |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range results {
		ratio := "–"
		if r.ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.ratio)
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.id, r.what, r.measured, orDash(r.floor), ratio, orDash(r.target), orDash(r.met))
	}
	fmt.Println()
	for _, r := range results {
		for _, n := range r.notes {
			fmt.Printf("- %s: %s\n", r.id, n)
		}
	}
	if len(comps) > 0 {
		fmt.Println("\nPostgreSQL against SQLite (a ratio above 1 is PostgreSQL doing better: of rates, PostgreSQL ÷ SQLite; of times and CPU, SQLite ÷ PostgreSQL):")
		fmt.Println()
		fmt.Println("| # | what | SQLite | PostgreSQL | ratio | measured |")
		fmt.Println("| --- | --- | --- | --- | --- | --- |")
		for _, c := range comps {
			ratio, when := c.ratio, "in turns, same rounds"
			if !c.higherBetter {
				ratio = 1 / ratio
			}
			if !c.sameRounds {
				when = "in separate rounds of the same run"
			}
			fmt.Printf("| %s | %s | %s | %s | %.2f | %s |\n", c.id, c.what, c.sqlite, c.pg, ratio, when)
		}
	}
	return nil
}

func numCPU() int { return runtime.NumCPU() }

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

func memTotal() string {
	kb, err := procField("/proc/meminfo", "MemTotal")
	if err != nil {
		return "memory unknown"
	}
	return fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
}

// procField reads a "Name:   123 kB" line of a /proc file, in kB.
func procField(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != name {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			break
		}
		return strconv.ParseInt(fs[0], 10, 64)
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

func mib(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }
