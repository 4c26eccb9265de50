package metadata

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/candour/candour/internal/testbin"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cleanerPath is the cleaning process the tests start (see testbin).
var cleanerPath string

func TestMain(m *testing.M) { os.Exit(testbin.MainWithCleaner(m, &cleanerPath)) }

// hogs are cleaning processes that misbehave the way a parser driven by
// a hostile file can, once they have read the file (as a cleaning process
// does before anything else; the limits are set before it gets a byte):
// a shell, not Go, so that their memory is what they ask for.
var hogs = map[string]string{
	// Doubles a string until it is refused memory, saying how long it is
	// each time.
	"memory": `s=x; while :; do s="$s$s"; echo ${#s}; done`,
	"cpu":    `while :; do :; done`,
	"sleep":  `exec sleep 100000`,
	// Writes a file, then reports success whether that worked or not.
	"write": `printf written > "$1"; printf cleaned; printf '{"Format":"PDF"}' >&3`,
}

// hogCleaner returns an isolated cleaner whose processes misbehave as
// what says (see hogs).
func hogCleaner(t *testing.T, what string, iso Isolation, args ...string) *Cleaner {
	t.Helper()
	script := filepath.Join(t.TempDir(), "hog")
	body := "#!/bin/sh\n"
	if len(args) > 0 {
		body += "set -- " + strings.Join(args, " ") + "\n"
	}
	body += "cat >/dev/null\n" + hogs[what] + "\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	iso.Path = script
	c, err := NewIsolatedCleaner(0, iso)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var smallPDF = []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>\nendobj\n4 0 obj\n<< /Author (Officer X) >>\nendobj\ntrailer\n<< /Root 1 0 R /Info 4 0 R >>\n%%EOF\n")

// A file cleaned in a child process comes out as it does in this one,
// with the same Result, and a refusal is the same refusal.
func TestIsolatedCleaningIsCleaningInProcess(t *testing.T) {
	t.Parallel()
	iso, err := NewIsolatedCleaner(0, Isolation{Path: cleanerPath})
	if err != nil {
		t.Fatal(err)
	}
	local := NewCleaner(0, 1)
	for name, in := range map[string][]byte{
		"a PDF with an author":     smallPDF,
		"a PDF cut short":          smallPDF[:len(smallPDF)/2],
		"a ZIP that is not Office": zipOf(t, map[string]string{"a.txt": "hello"}),
		"text":                     []byte("just text, passed through"),
	} {
		var want, got bytes.Buffer
		wantRes, wantErr := local.Clean(&want, bytes.NewReader(in))
		gotRes, gotErr := iso.Clean(&got, bytes.NewReader(in))
		if fmt.Sprint(gotRes) != fmt.Sprint(wantRes) {
			t.Errorf("%s: result %+v, in process %+v", name, gotRes, wantRes)
		}
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || errors.Is(gotErr, ErrMalformed) != errors.Is(wantErr, ErrMalformed) {
			t.Errorf("%s: error %v, in process %v", name, gotErr, wantErr)
		}
		// A cleaned PDF gets a new random file identifier each time.
		if wantErr == nil && (got.Len() != want.Len() || wantRes.Format != "PDF" && !bytes.Equal(got.Bytes(), want.Bytes())) {
			t.Errorf("%s: %d bytes cleaned, %d in process", name, got.Len(), want.Len())
		}
	}
}

// Each limit stops the process and refuses the file, as unreadable.
func TestCleaningProcessesAreStoppedAtTheirLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hog string
		iso Isolation
		// how the process ended: the kernel kills at the processor-time
		// limit; the server kills at the time limit; a shell refused
		// memory ends as it may (dash crashes), so there the test is
		// how much memory it had.
		end string
	}{
		{"memory", Isolation{}, ""},
		{"cpu", Isolation{CPU: time.Second}, "signal: killed"},
		{"sleep", Isolation{Wall: time.Second}, "signal: killed"},
	} {
		t.Run(tc.hog, func(t *testing.T) {
			t.Parallel()
			c := hogCleaner(t, tc.hog, tc.iso)
			var out bytes.Buffer
			res, err := c.Clean(&out, bytes.NewReader(smallPDF))
			if !errors.Is(err, ErrCleanerStopped) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want the file refused as stopped at a limit", err)
			}
			if !strings.Contains(err.Error(), tc.end) {
				t.Errorf("err = %v, want the process ended by %q", err, tc.end)
			}
			if limit := ProcessMemory(int64(len(smallPDF))); tc.hog == "memory" {
				lines := strings.Fields(out.String())
				var held int64
				if len(lines) > 0 {
					held, _ = strconv.ParseInt(lines[len(lines)-1], 10, 64)
				}
				t.Logf("the memory hog was stopped holding a string of %d MiB (limit %d MiB)", held>>20, limit>>20)
				if held > limit || held < limit/16 {
					t.Errorf("the memory hog held a string of %d MiB, want it stopped near its limit of %d MiB", held>>20, limit>>20)
				}
			}
			if res.Format != "PDF" {
				t.Errorf("Format = %q: the reporter is not told what the file looked like", res.Format)
			}
		})
	}
}

// A cleaning process cannot write a file: the kernel stops it at its
// first byte (SIGXFSZ), and its file is refused.
func TestCleaningProcessesCannotWriteFiles(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "leak")
	c := hogCleaner(t, "write", Isolation{}, file)
	if _, err := c.Clean(io.Discard, bytes.NewReader(smallPDF)); !errors.Is(err, ErrCleanerStopped) || !strings.Contains(err.Error(), "signal: file size limit exceeded") {
		t.Errorf("err = %v, want the process stopped by the kernel at its first byte", err)
	}
	if b, _ := os.ReadFile(file); len(b) > 0 {
		t.Errorf("a cleaning process wrote %q to a file", b)
	}
}

// Processes start only while their limits fit in the budget: with room
// for two, a third waits (and gives up when its upload does) without
// starting a process.
func TestCleaningProcessesFitTheMemoryBudget(t *testing.T) {
	t.Parallel()
	c := hogCleaner(t, "sleep", Isolation{MemoryBudget: 2 * ProcessMemory(int64(len(smallPDF)))})
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	for range 2 {
		done.Go(func() {
			_, err := c.CleanContext(ctx, io.Discard, bytes.NewReader(smallPDF))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want the cancelled upload's", err)
			}
		})
	}
	waitFor(t, "two cleaning processes to start", func() bool { return c.isolated.started.Load() == 2 })
	third, stop := context.WithCancel(context.Background())
	go func() {
		// The third is waiting (or about to) for room that will not come
		// while the first two run.
		waitFor(t, "the third file to wait for room", func() bool { return c.isolated.waiting.Load() == 1 })
		stop()
	}()
	if _, err := c.CleanContext(third, io.Discard, bytes.NewReader(smallPDF)); !errors.Is(err, context.Canceled) {
		t.Errorf("third file: err = %v, want it to have waited until its upload ended", err)
	}
	if n := c.isolated.started.Load(); n != 2 {
		t.Errorf("%d processes started with room for two", n)
	}
	cancel()
	done.Wait()
}

// A file that finds no room in the budget for Queue is told the cleaner
// is busy, not kept waiting for ever.
func TestAFileThatFindsNoRoomIsToldTheCleanerIsBusy(t *testing.T) {
	t.Parallel()
	// A file whose process takes the whole budget.
	large := append(bytes.Repeat([]byte("%PDF-"), 1<<20), smallPDF...)
	c := hogCleaner(t, "sleep", Isolation{MemoryBudget: MinMemoryBudget, Queue: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, err := c.CleanContext(ctx, io.Discard, bytes.NewReader(large))
		first <- err
	}()
	waitFor(t, "the first cleaning process to start", func() bool { return c.isolated.started.Load() == 1 })
	if _, err := c.Clean(io.Discard, bytes.NewReader(smallPDF)); !errors.Is(err, ErrCleanerBusy) {
		t.Errorf("err = %v, want ErrCleanerBusy", err)
	}
	if n := c.isolated.started.Load(); n != 1 {
		t.Errorf("%d processes started with room for one", n)
	}
	cancel()
	<-first
}

// waitFor polls cond until it holds, failing after two minutes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// zipOf is an archive of the given files.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// What a cleaning process costs: the same small PDF cleaned here and in a
// child process (docs/benchmarks.md).
func BenchmarkCleanSmallPDF(b *testing.B) {
	iso, err := NewIsolatedCleaner(0, Isolation{Path: cleanerPath})
	if err != nil {
		b.Fatal(err)
	}
	for name, c := range map[string]*Cleaner{"in-process": NewCleaner(0, 1), "isolated": iso} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Clean(io.Discard, bytes.NewReader(smallPDF)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
