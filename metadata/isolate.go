package metadata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Read-whole formats (PDF above all) are parsed by code that hostile input
// can drive to gigabytes of memory and minutes of CPU from a few megabytes
// of file. In the server they are therefore cleaned in a child process of
// the same executable, one per file, with hard limits set by the kernel
// (see limitProcess): a file that breaches them gets its process killed
// and is refused, and the server's own memory holds only the file and the
// pipes' buffers whatever the file does.
//
// The child is told what it is by an environment variable and nothing
// else: it reads the file on standard input, writes the cleaned file on
// standard output and its Result, as JSON, on file descriptor 3.

// cleanerEnv marks a process started to clean one file.
const cleanerEnv = "CANDOUR_CLEANER_PROCESS"

// RunCleanerProcessIfAsked turns the calling process into a cleaning
// process and exits, if it was started as one; otherwise it returns at
// once. main (and TestMain in packages whose tests start servers) must
// call it first, before doing anything else.
func RunCleanerProcessIfAsked() {
	if os.Getenv(cleanerEnv) != "1" {
		return
	}
	os.Exit(cleanerProcess(os.Stdin, os.Stdout, os.NewFile(3, "result")))
}

// processResult is what a cleaning process reports on descriptor 3.
type processResult struct {
	Format  string   `json:",omitempty"`
	Removed []string `json:",omitempty"`
	Note    string   `json:",omitempty"`
	Work    int      `json:",omitempty"`
	// Malformed is the reason the file was refused (an ErrMalformed),
	// Failed that of any other failure.
	Malformed string `json:",omitempty"`
	Failed    string `json:",omitempty"`
}

// cleanerProcess is a cleaning process's whole life: read the file, clean
// it with the format its first bytes name, write the result.
func cleanerProcess(in io.Reader, out io.Writer, result io.WriteCloser) int {
	var pr processResult
	data, err := io.ReadAll(in)
	if err != nil {
		pr.Failed = "reading the file failed"
	} else {
		res, err := cleanWholeData(out, data)
		pr = processResult{Format: res.Format, Removed: res.Removed, Note: res.Note, Work: res.work}
		switch {
		case errors.Is(err, ErrMalformed):
			pr.Malformed = strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": ")
		case err != nil:
			pr.Failed = err.Error()
		}
	}
	if err := json.NewEncoder(result).Encode(pr); err != nil {
		return 1
	}
	if err := result.Close(); err != nil {
		return 1
	}
	return 0
}

// cleanWholeData cleans a file that was read whole with the format its
// first bytes name.
func cleanWholeData(w io.Writer, data []byte) (Result, error) {
	for _, f := range wholeFormats {
		if f.match(data[:min(len(data), 32)]) {
			return f.clean(w, data)
		}
	}
	_, err := w.Write(data)
	return Result{}, err
}

// Isolation says how read-whole files are cleaned in child processes.
type Isolation struct {
	// Path is the executable to start, which must call
	// RunCleanerProcessIfAsked first thing; empty means this one.
	Path string
	// MemoryBudget bounds the memory that all cleaning processes together
	// may take: each is given a hard limit by the size of its file (see
	// ProcessMemory; at most the whole budget), and one starts only when
	// its limit fits in what the others running leave of the budget.
	// Files wait for room in turn.
	MemoryBudget int64
	// CPU is the processor time one file may take, and Wall the time from
	// start to end (a process waiting for the processor included); a
	// process past either is killed and its file refused.
	CPU, Wall time.Duration
	// Queue is how long a file may wait for room in the budget; after
	// that it gets ErrCleanerBusy.
	Queue time.Duration
}

// Defaults for Isolation.
const (
	DefaultMemoryBudget = 1 << 30
	DefaultCleanCPU     = time.Minute
	DefaultCleanWall    = 3 * time.Minute
	DefaultCleanQueue   = 2 * time.Minute
)

// ProcessMemory is the hard memory limit of the process that cleans a
// file of size bytes, unless the whole budget is smaller: about 110 MiB
// that the Go runtime commits before it reads a byte (heap index, thread
// stacks), and what parsing takes. Real PDFs were measured needing 10 to
// 44 times their size on top of that (pdfcpu's model of many small pages
// is the largest part; docs/operations.md has the figures).
func ProcessMemory(size int64) int64 {
	return 128<<20 + 48*size
}

// MinMemoryBudget is the least budget that cleans anything.
const MinMemoryBudget = 256 << 20

// isolated runs cleaning processes for a Cleaner.
type isolated struct {
	path   string
	budget *semaphore.Weighted
	total  int64
	cpu    time.Duration
	wall   time.Duration
	queue  time.Duration
	// waiting and started count files waiting for room and processes
	// started, for tests.
	waiting, started atomic.Int64
}

// NewIsolatedCleaner returns a Cleaner that cleans read-whole files of up
// to maxBuffered bytes each in a child process (see Isolation), and
// JPEG and PNG, which it streams with bounded memory, in this one. It
// fails if the budget is below MinMemoryBudget.
func NewIsolatedCleaner(maxBuffered int64, iso Isolation) (*Cleaner, error) {
	c := NewCleaner(maxBuffered, 1)
	if iso.Path == "" {
		p, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the executable that cleans files: %w", err)
		}
		iso.Path = p
	}
	if iso.MemoryBudget <= 0 {
		iso.MemoryBudget = DefaultMemoryBudget
	}
	if iso.CPU <= 0 {
		iso.CPU = DefaultCleanCPU
	}
	if iso.Wall <= 0 {
		iso.Wall = DefaultCleanWall
	}
	if iso.Queue <= 0 {
		iso.Queue = DefaultCleanQueue
	}
	if iso.MemoryBudget < MinMemoryBudget {
		return nil, fmt.Errorf("the memory budget for cleaning files must be at least %s", sizeText(MinMemoryBudget))
	}
	if err := canLimitProcesses(); err != nil {
		return nil, err
	}
	c.isolated = &isolated{path: iso.Path, budget: semaphore.NewWeighted(iso.MemoryBudget),
		total: iso.MemoryBudget, cpu: iso.CPU, wall: iso.Wall, queue: iso.Queue}
	return c, nil
}

// ErrCleanerBusy means a file waited Isolation.Queue for room in the
// memory budget without getting it: other files (perhaps hostile ones,
// each stopped at its limits in turn) are taking it. It is the server's
// state, not the file's fault: the sender should try again later.
var ErrCleanerBusy = errors.New("no room to clean the file: too many are being cleaned")

// ErrCleanerStopped wraps ErrMalformed: the cleaning process went past
// one of its limits (or died otherwise) and the file is refused.
var ErrCleanerStopped = fmt.Errorf("%w: cleaning stopped at its limits", ErrMalformed)

// clean cleans data, which f matched, in a child process, writing the
// cleaned file to w as the child writes it. What reaches w before an
// error is not a cleaned file: the caller must discard it (the server
// aborts the attachment).
func (iso *isolated) clean(ctx context.Context, w io.Writer, data [][]byte, size int64, f wholeFormat) (Result, error) {
	// A file whose limit would be more than the whole budget runs alone
	// with the whole budget.
	limit := min(ProcessMemory(size), iso.total)
	iso.waiting.Add(1)
	queued, stop := context.WithTimeoutCause(ctx, iso.queue, ErrCleanerBusy)
	err := iso.budget.Acquire(queued, limit)
	stop()
	iso.waiting.Add(-1)
	if err != nil {
		if ctx.Err() == nil {
			return Result{}, ErrCleanerBusy
		}
		return Result{}, err
	}
	defer iso.budget.Release(limit)

	ctx, cancel := context.WithTimeout(ctx, iso.wall)
	defer cancel()
	resultR, resultW, err := os.Pipe()
	if err != nil {
		return Result{}, err
	}
	defer resultR.Close()
	cmd := exec.CommandContext(ctx, iso.path)
	cmd.Env = []string{
		cleanerEnv + "=1",
		"GOMAXPROCS=1",
		// The collector works harder as the limit nears, so that a file
		// that fits is not stopped by garbage; the kernel's limit (set by
		// limitProcess) is the hard one.
		"GOMEMLIMIT=" + strconv.FormatInt(limit-limit/8, 10),
		"GOTRACEBACK=none",
	}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{resultW}
	cmd.SysProcAttr = processAttributes()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		resultW.Close()
		return Result{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		resultW.Close()
		return Result{}, err
	}
	// Whatever the child says on standard error (the runtime's words when
	// it runs out of memory) is dropped: a panic there can quote the file.
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		resultW.Close()
		return Result{}, fmt.Errorf("starting the cleaning process: %w", err)
	}
	iso.started.Add(1)
	resultW.Close()
	// The limits are set before the child is given a byte of the file: it
	// is blocked reading its standard input until then.
	if err := limitProcess(cmd.Process.Pid, limit, iso.cpu); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return Result{}, fmt.Errorf("limiting the cleaning process: %w", err)
	}
	fed := make(chan error, 1)
	go func() {
		var err error
		for _, b := range data {
			if _, err = stdin.Write(b); err != nil {
				break
			}
		}
		if cerr := stdin.Close(); err == nil {
			err = cerr
		}
		fed <- err
	}()
	_, copyErr := io.Copy(w, stdout)
	var pr processResult
	decodeErr := json.NewDecoder(io.LimitReader(resultR, 1<<20)).Decode(&pr)
	if copyErr != nil {
		cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	<-fed

	res := Result{Format: pr.Format, Removed: pr.Removed, Note: pr.Note, work: pr.Work}
	switch {
	case copyErr != nil:
		return Result{}, copyErr // storing the cleaned file failed
	case waitErr != nil || decodeErr != nil:
		// Killed at a limit, out of memory (the Go runtime exits with an
		// error when the kernel refuses it more), or crashed: the file
		// is not stored, whatever was written.
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.DeadlineExceeded) {
			return Result{}, c // the upload itself was cancelled
		}
		why := waitErr
		if why == nil {
			why = decodeErr
		}
		return Result{Format: f.name}, fmt.Errorf("%w (%v)", ErrCleanerStopped, why)
	case pr.Malformed == ErrMalformed.Error():
		return res, ErrMalformed
	case pr.Malformed != "":
		return res, fmt.Errorf("%w: %s", ErrMalformed, pr.Malformed)
	case pr.Failed != "":
		return res, errors.New(pr.Failed)
	}
	return res, nil
}

// joinChunks is for tests and the in-process path: the file as one slice.
func joinChunks(data [][]byte) []byte {
	if len(data) == 1 {
		return data[0]
	}
	return bytes.Join(data, nil)
}
