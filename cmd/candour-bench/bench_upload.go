package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// benchUpload is benchmark 3: one large attachment (1 GiB) sent with a new
// report through the web form, against the stock age command encrypting
// the same file to as many recipients, and the server's peak RSS.
//
// Each of three rounds runs the two floors and then one upload, and the
// floors run once more at the end, so that drift of the machine weighs on
// both alike: the plain floor, `age -R` to a file on the same disk, and the
// durable one, the same followed by an fsync of the file and its folder
// (what the server must do before its receipt: the ciphertext on disk).
// The target is against the durable floor.
//
// Every server runs with the default KDF settings. The new case's one
// Argon2id derivation holds 64 MiB by itself, after the upload is received;
// 3c is the peak of the whole request, derivation included. 3b is the
// upload alone: after the rounds, a reporter logs in to a new server (its
// derivation), the peak RSS is reset, and the same file is sent as the
// attachment of a follow-up message.
//
// 3d is the server's CPU per GiB of attachment, net of the report around
// it: in each round, once the upload's server has gone idle, the same
// report (the same fields, its file input left empty, as a browser sends
// it) is sent to the same server, its CPU measured the same way, and 3d is
// the mean over the rounds of (CPU of the report with the file - CPU of
// the report without) / GiB. What both requests pay alike (the new case's
// Argon2id derivation, sealing and committing the report) thus drops
// out. The report without the file comes second, so that any cost a
// fresh server pays once falls in the upload's share, not in what is
// subtracted. The gross figure (the whole request per GiB) is in 3d's
// notes.
func benchUpload(e *env) ([]result, error) {
	big := filepath.Join(e.dir, "big.bin")
	defer os.Remove(big)
	logf("3: writing a %d MiB pseudo-random file", e.o.bigSize>>20)
	if err := writeRandomFile(big, e.o.bigSize); err != nil {
		return nil, err
	}
	ageOut := filepath.Join(e.dir, "big.bin.age")
	defer os.Remove(ageOut)
	var ageCPU time.Duration // of the plain floor's runs, in all
	stockAge := func(durable bool) (float64, error) {
		os.Remove(ageOut)
		start := time.Now()
		cmd := exec.Command(e.o.age, "-R", e.ageRecipientsFile, "-o", ageOut, big)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("age: %v: %s", err, out)
		}
		if durable {
			if err := syncFile(ageOut); err != nil {
				return 0, err
			}
		} else {
			ageCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		secs := time.Since(start).Seconds()
		os.Remove(ageOut)
		return float64(e.o.bigSize) / 1e6 / secs, nil
	}
	var plain, durable samples
	floors := func() error {
		for _, d := range []bool{false, true} {
			x, err := stockAge(d)
			if err != nil {
				return err
			}
			if d {
				durable = append(durable, x)
			} else {
				plain = append(plain, x)
			}
		}
		return nil
	}

	// upload runs a server with extra flags, sends the file through it, and
	// returns MB/s, the server's RSS before and its peak RSS after, its
	// CPU over the upload, and its CPU over the same report sent next
	// without the file (bare).
	upload := func(name string, extra ...string) (mbps float64, idle, peak int64, cpu, bare cpuUse, err error) {
		s, err := e.startServer(extra...)
		if err != nil {
			return 0, 0, 0, cpu, bare, err
		}
		defer s.remove() // the database now holds 1 GiB of ciphertext
		idle = s.status("VmRSS")
		wait := e.profile(s, name, 15*time.Second)
		cpu.measure(s, func() { mbps, err = uploadFile(s.url, big, e.o.bigSize) })
		wait()
		peak = s.status("VmHWM")
		e.saveHeap(s, name)
		if err != nil {
			return 0, 0, 0, cpu, bare, err
		}
		waitIdle(s)
		bare.measure(s, func() { err = uploadNoFile(s.url) })
		return mbps, idle, peak, cpu, bare, err
	}
	var (
		server    samples
		idle      int64
		peak      int64
		serverCPU cpuUse
		bareCPU   cpuUse // of the same report without the file, in all
		netCPU    samples
		netCand   float64 // the candour process's share of netCPU, in all
	)
	for r := range rounds {
		logf("3: round %d of %d: floors (stock age to %d post-quantum recipients, then the same + fsync), then an upload with a new report through the web form",
			r+1, rounds, orgKeys+2)
		if err := floors(); err != nil {
			return nil, err
		}
		mbps, i, p, cpu, bare, err := upload(fmt.Sprintf("3-upload-%d", r+1))
		if err != nil {
			return nil, err
		}
		server = append(server, mbps)
		idle, peak = i, max(peak, p)
		serverCPU.server += cpu.server
		serverCPU.self += cpu.self
		serverCPU.wall += cpu.wall
		bareCPU.server += bare.server
		netCPU = append(netCPU, (cpu.server - bare.server).Seconds())
		netCand += (cpu.candour - bare.candour).Seconds()
	}
	logf("3: floors once more")
	if err := floors(); err != nil {
		return nil, err
	}
	logf("3: a reporter logs in to a new server and sends the file with a follow-up message")
	s, err := e.startServer()
	if err != nil {
		return nil, err
	}
	loggedIn, sessionPeak, err := sessionUpload(s, big, e.o.bigSize)
	e.saveHeap(s, "3b-session")
	s.remove()
	if err != nil {
		return nil, err
	}

	ratio := server.median() / durable.median()
	gib := float64(e.o.bigSize) / (1 << 30)
	grossPerGiB := serverCPU.server.Seconds() / float64(len(server)) / gib
	var netSum float64
	for _, x := range netCPU {
		netSum += x
	}
	cpuPerGiB := netSum / float64(len(netCPU)) / gib
	bareSecs := bareCPU.server.Seconds() / float64(len(server))
	ageCPUPerGiB := ageCPU.Seconds() / float64(len(plain)) / gib
	peakMiB := float64(peak) / 1024
	rs := []result{{
		id:       "3a",
		what:     fmt.Sprintf("one %d MiB attachment with a new report, web form upload", e.o.bigSize>>20),
		measured: server.String("MB/s"),
		floor: fmt.Sprintf("durable: stock `age -R` (%d PQ keys) to a file on the same disk, then fsync: %s",
			orgKeys+2, durable.String("MB/s")),
		ratio: ratio, target: "≥ 0.8", met: yesNo(ratio >= 0.8),
		value: server.median(),
		notes: []string{
			fmt.Sprintf("against the plain floor (the same without the fsync, %s): %.2f", plain.String("MB/s"), server.median()/plain.median()),
			fmt.Sprintf("server runs %s MB/s; ", joinRates(server)) + serverCPU.String(),
		},
	}, {
		id:       "3b",
		what:     fmt.Sprintf("peak RSS of a default server (VmHWM, reset after the login) over a %d MiB upload in a reporter's session", e.o.bigSize>>20),
		measured: mib(sessionPeak),
		floor:    "RSS once logged in, before it: " + mib(loggedIn),
		ratio:    float64(loggedIn) / float64(sessionPeak),
		target:   "≤ 64 MiB", met: yesNo(float64(sessionPeak)/1024 <= 64),
	}, {
		id:       "3c",
		what:     "peak RSS of the whole new-report request of 3a (greatest of the rounds): the upload, then the new case's 64 MiB derivation",
		measured: fmt.Sprintf("%.1f MiB", peakMiB),
		floor:    "idle RSS before it: " + mib(idle),
		ratio:    float64(idle) / float64(peak),
	}, {
		id:       "3d",
		what:     "server CPU (user + system) per GiB of attachment: the new report with the file less the same report without it, on the same server, mean of the rounds",
		measured: fmt.Sprintf("%.2f s", cpuPerGiB),
		floor:    fmt.Sprintf("stock `age -R`, same file, same keys (plain runs): %.2f s", ageCPUPerGiB),
		ratio:    ageCPUPerGiB / cpuPerGiB,
		target:   "≤ 2.5 × age", met: yesNo(cpuPerGiB <= 2.5*ageCPUPerGiB),
		value: cpuPerGiB,
		notes: []string{
			fmt.Sprintf("gross, the whole request with the file per GiB: %.2f s (%.2f × age); the same report without the file: %.2f s of CPU (mean of the rounds); net per round: %s s",
				grossPerGiB, grossPerGiB/ageCPUPerGiB, bareSecs, joinSeconds(netCPU, gib)),
		},
	}}
	if e.onPG {
		c := netCand / float64(len(netCPU)) / gib
		rs[3].notes = append(rs[3].notes, fmt.Sprintf("of the net figure, the candour process %.2f s per GiB and PostgreSQL's processes %.2f s", c, cpuPerGiB-c))
	}
	return rs, nil
}

// syncFile flushes a file and the folder that names it to the disk.
func syncFile(path string) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("fsync %s: %w", p, err)
		}
	}
	return nil
}

// joinSeconds lists CPU seconds per GiB.
func joinSeconds(xs []float64, gib float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x/gib)
	}
	return strings.Join(parts, ", ")
}

func joinRates(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, ", ")
}

// writeRandomFile writes size pseudo-random bytes (AES-CTR under a random
// key: incompressible, and fast to make).
func writeRandomFile(path string, size int64) error {
	key, iv := make([]byte, 32), make([]byte, aes.BlockSize)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	stream := cipher.NewCTR(block, iv)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		clear(buf[:n])
		stream.XORKeyStream(buf[:n], buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}

// uploadFile sends path as the one attachment of a new report, streamed
// from the file with a known Content-Length, and returns MB/s from the
// first byte sent to the receipt read.
// fileForm returns a multipart form with fields, then path's content as
// the file "attachments", streamed: the form's content type, its body and
// its length.
func fileForm(path string, size int64, fields ...[2]string) (string, io.Reader, int64, func(), error) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if _, err := mw.CreateFormFile("attachments", "evidence.bin"); err != nil {
		return "", nil, 0, nil, err
	}
	prefix := bytes.Clone(head.Bytes())
	head.Reset()
	mw.Close()
	suffix := head.Bytes()
	f, err := os.Open(path)
	if err != nil {
		return "", nil, 0, nil, err
	}
	body := io.MultiReader(bytes.NewReader(prefix), f, bytes.NewReader(suffix))
	return mw.FormDataContentType(), body, int64(len(prefix)) + size + int64(len(suffix)), func() { f.Close() }, nil
}

// uploadNoFile sends the report of uploadFile without its file: the same
// fields, then the file input left empty, as a browser sends it (a part
// with no file name and no content).
func uploadNoFile(base string) error {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("body", "a large file")
	if _, err := mw.CreateFormFile("attachments", ""); err != nil {
		return err
	}
	mw.Close()
	_, err := submitReport(context.Background(), newHTTPClient(1), base, mw.FormDataContentType(), bytes.NewReader(b.Bytes()), int64(b.Len()))
	return err
}

// waitIdle waits, up to 10 s, until the server has used no CPU for 200 ms:
// what the upload left running (a checkpoint, a collection) must not be
// counted as the next request's.
func waitIdle(s *server) {
	last := s.cpu()
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		now := s.cpu()
		if now == last {
			return
		}
		last = now
	}
}

// uploadFile sends path with a new report and returns MB/s.
func uploadFile(base, path string, size int64) (float64, error) {
	ct, body, n, done, err := fileForm(path, size, [2]string{"body", "a large file"})
	if err != nil {
		return 0, err
	}
	defer done()
	hc := newHTTPClient(1)
	start := time.Now()
	if _, err := submitReport(context.Background(), hc, base, ct, body, n); err != nil {
		return 0, err
	}
	return float64(size) / 1e6 / time.Since(start).Seconds(), nil
}

// sessionUpload makes a case on s, logs its reporter in (the one
// derivation), and then sends path as the attachment of a follow-up
// message. It returns the server's RSS once logged in and its peak RSS
// over the upload alone: the high-water mark is reset (clear_refs) just
// before the upload starts.
func sessionUpload(s *server, path string, size int64) (before, peak int64, err error) {
	ctx := context.Background()
	hc := newHTTPClient(1)
	ct, b := formBody([2]string{"body", "a report to come back to"})
	code, err := submitReport(ctx, hc, s.url, ct, bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return 0, 0, err
	}
	session, err := followupLogin(ctx, hc, s.url, code)
	if err != nil {
		return 0, 0, err
	}
	csrf, err := caseCSRF(ctx, hc, s.url, session)
	if err != nil {
		return 0, 0, err
	}
	ct, body, n, done, err := fileForm(path, size, [2]string{"csrf", csrf}, [2]string{"body", "a large file"})
	if err != nil {
		return 0, 0, err
	}
	defer done()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0); err != nil {
		return 0, 0, fmt.Errorf("resetting the peak RSS: %w", err)
	}
	before = s.status("VmRSS")
	if err := sendMessageStream(ctx, hc, s.url, session, ct, body, n); err != nil {
		return 0, 0, err
	}
	return before, s.status("VmHWM"), nil
}
