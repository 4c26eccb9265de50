package main_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// pdfBombs are PDFs made to cost a reader far more memory and time than
// their size: the kinds the security review sent (issue 11, §3), at up to
// 25 MB each.
func pdfBombs() map[string][]byte {
	objects := func(n int, body func(i int) string, tail string) []byte {
		var b bytes.Buffer
		b.WriteString("%PDF-1.7\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i, body(i))
		}
		b.WriteString(tail)
		return b.Bytes()
	}
	nested := strings.Repeat("[", 90) + strings.Repeat("]", 90)
	return map[string][]byte{
		// 300,000 objects and no cross-reference table: the reader
		// rebuilds one by scanning the whole file.
		"300,000 objects, no table": objects(300_000, func(int) string { return "<< >>" },
			"trailer\n<< /Root 1 0 R >>\n%%EOF\n"),
		// 700,000 small objects, and a table that points nowhere.
		"700,000 objects, repair forced": objects(700_000, func(int) string { return "<< /A [1 2 3] >>" },
			"startxref\n999999999\n%%EOF\n"),
		// A page tree of 200,000 pages whose table is missing: each page
		// is a model object of its own.
		"200,000 pages": objects(200_002, func(i int) string {
			switch i {
			case 1:
				return "<< /Type /Catalog /Pages 2 0 R >>"
			case 2:
				var kids strings.Builder
				for k := 3; k <= 200_002; k++ {
					fmt.Fprintf(&kids, "%d 0 R ", k)
				}
				return "<< /Type /Pages /Count 200000 /Kids [" + kids.String() + "] >>"
			}
			return "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"
		}, "trailer\n<< /Root 1 0 R >>\n%%EOF\n"),
		// Nested arrays 90 deep, 100,000 times over.
		"nested structures": objects(100_000, func(int) string { return nested }, "trailer\n<< /Root 1 0 R >>\n%%EOF\n"),
	}
}

// procStatus returns a field of /proc/PID/status in KiB.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// children returns the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Dir(d), "/proc/"), "/"))
			out = append(out, n)
		}
	}
	return out
}

// serverPeakBound is the most resident memory (VmHWM) the server may reach
// while the bombs are cleaned: what it holds of the files themselves (each
// is received whole before it is cleaned, in chunks) and the server's own
// 64 MiB, with room for the collector's slack.
func serverPeakBound(files int64) int64 { return 64<<20 + 2*files }

// TestPDFBombsDoNotTakeTheServersMemory sends the bombs at once to a real
// candour serve. Each is cleaned in a process of its own with hard limits,
// stopped there and refused with the clear page; the server's own peak
// memory stays under serverPeakBound; and a report is accepted while a
// bomb is being cleaned (one cleaning process is held stopped until then,
// so that "while" does not depend on the machine's speed).
func TestPDFBombsDoNotTakeTheServersMemory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	addr := freeAddr(t)
	// The bombs queue for room in --clean-memory; on a busy machine the
	// last may wait longer than the default --clean-wait (2 minutes) and
	// be told the service is busy. The wait is the clock's, so it is made
	// longer than the test could take: the outcome then depends on the
	// cleaning's progress only.
	cmd := startServer(t, filepath.Join(dir, "data"), recipients, addr, "--clean-memory", "384MiB", "--clean-wait", "30m")
	base := "http://" + addr
	c := &http.Client{Timeout: 15 * patience}
	pid := cmd.Process.Pid

	bombs := pdfBombs()
	var total int64
	type answer struct {
		name   string
		status int
		page   string
		err    error
	}
	answers := make(chan answer, len(bombs))
	var wg sync.WaitGroup
	for name, pdf := range bombs {
		total += int64(len(pdf))
		wg.Go(func() {
			status, page, err := postReport(c, base, "evidence "+name, pdf)
			answers <- answer{name, status, page, err}
		})
	}

	// Hold the first cleaning process seen stopped, and send a report
	// with a photo meanwhile.
	var held int
	waitFor(t, "a cleaning process to start", func() (bool, error) {
		if kids := children(pid); len(kids) > 0 {
			held = kids[0]
			return syscall.Kill(held, syscall.SIGSTOP) == nil, nil
		}
		return false, nil
	})
	status, page, err := postReport(c, base, "A report sent while a PDF bomb is being cleaned", tinyJPEG)
	if err != nil || status != 200 || !strings.Contains(page, `id="case-code"`) {
		t.Errorf("a report sent while a bomb was cleaned: %d %v\n%s", status, err, page)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", held)); err != nil {
		t.Errorf("the held cleaning process is gone before the report was answered: %v", err)
	}
	syscall.Kill(held, syscall.SIGCONT)

	wg.Wait()
	close(answers)
	stopped := 0
	for a := range answers {
		if a.err != nil || a.status != http.StatusBadRequest || !strings.Contains(a.page, "Nothing was saved") {
			t.Errorf("%s: %d %v, want it refused with the clear page\n%.400s", a.name, a.status, a.err, a.page)
		}
		if strings.Contains(a.page, "too complex for this service to clean safely") {
			stopped++
		}
	}
	// Some are stopped by the kernel's limits, not only by the reader's
	// own checks.
	if stopped == 0 {
		t.Errorf("no bomb was stopped at its process's limits")
	}
	peak := procStatus(t, pid, "VmHWM") << 10
	t.Logf("%d bombs, %d MiB in all: server peak RSS %d MiB (bound %d MiB)", len(bombs), total>>20, peak>>20, serverPeakBound(total)>>20)
	if peak > serverPeakBound(total) {
		t.Errorf("the server's peak memory was %d MiB while cleaning %d MiB of PDF bombs; the bound is %d MiB",
			peak>>20, total>>20, serverPeakBound(total)>>20)
	}
	if kids := children(pid); len(kids) > 0 {
		t.Errorf("cleaning processes %v outlived their files", kids)
	}

	// Cleaning still works: a real PDF is cleaned and accepted.
	status, page, err = postReport(c, base, "A real PDF after the bombs", minimalPDF)
	if err != nil || status != 200 || !strings.Contains(page, `id="case-code"`) {
		t.Errorf("a PDF after the bombs: %d %v\n%s", status, err, page)
	}
}

// A photo (JPEG, cleaned as it streams, in the server) and a one-page PDF.
var (
	tinyJPEG   = jpegOf()
	minimalPDF = []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
)

func jpegOf() []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}
