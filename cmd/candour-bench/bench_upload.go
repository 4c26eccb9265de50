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
// The server runs with --kdf-memory-mib 8: the new case's one Argon2id
// derivation would otherwise hold 64 MiB by itself, which is the KDF's
// memory (bounded separately, by --kdf-concurrency), not the upload's.
// One more upload, after the rounds, runs with the default.
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
	// returns MB/s, the server's RSS before and its peak RSS after.
	upload := func(name string, extra ...string) (mbps float64, idle, peak int64, cpu cpuUse, err error) {
		s, err := e.startServer(extra...)
		if err != nil {
			return 0, 0, 0, cpu, err
		}
		defer func() {
			s.stop()
			os.RemoveAll(filepath.Dir(s.data)) // the database now holds 1 GiB of ciphertext
		}()
		idle = s.status("VmRSS")
		wait := e.profile(s, name, 15*time.Second)
		cpu.measure(s, func() { mbps, err = uploadFile(s.url, big, e.o.bigSize) })
		wait()
		return mbps, idle, s.status("VmHWM"), cpu, err
	}
	var (
		server    samples
		idle      int64
		peak      int64
		serverCPU cpuUse
	)
	for r := range rounds {
		logf("3: round %d of %d: floors (stock age to %d post-quantum recipients, then the same + fsync), then an upload through the web form, server with --kdf-memory-mib 8",
			r+1, rounds, orgKeys+2)
		if err := floors(); err != nil {
			return nil, err
		}
		mbps, i, p, cpu, err := upload(fmt.Sprintf("3-upload-%d", r+1), "--kdf-memory-mib", "8")
		if err != nil {
			return nil, err
		}
		server = append(server, mbps)
		idle, peak = i, max(peak, p)
		serverCPU.server += cpu.server
		serverCPU.self += cpu.self
		serverCPU.wall += cpu.wall
	}
	logf("3: floors once more")
	if err := floors(); err != nil {
		return nil, err
	}
	logf("3: uploading again, server with the default Argon2id memory")
	mbps64, _, peak64, _, err := upload("3-upload-default-kdf")
	if err != nil {
		return nil, err
	}

	ratio := server.median() / durable.median()
	gib := float64(e.o.bigSize) / (1 << 30)
	cpuPerGiB := serverCPU.server.Seconds() / float64(len(server)) / gib
	ageCPUPerGiB := ageCPU.Seconds() / float64(len(plain)) / gib
	peakMiB := float64(peak) / 1024
	return []result{{
		id:       "3a",
		what:     fmt.Sprintf("one %d MiB attachment with a new report, web form upload", e.o.bigSize>>20),
		measured: server.String("MB/s"),
		floor: fmt.Sprintf("durable: stock `age -R` (%d PQ keys) to a file on the same disk, then fsync: %s",
			orgKeys+2, durable.String("MB/s")),
		ratio: ratio, target: "≥ 0.8", met: yesNo(ratio >= 0.8),
		notes: []string{
			fmt.Sprintf("against the plain floor (the same without the fsync, %s): %.2f", plain.String("MB/s"), server.median()/plain.median()),
			fmt.Sprintf("server runs %s MB/s; ", joinRates(server)) + serverCPU.String(),
			fmt.Sprintf("upload with the default Argon2id memory, after the rounds: %.0f MB/s", mbps64),
		},
	}, {
		id:       "3b",
		what:     "peak RSS of the server (VmHWM) over that upload, server started with --kdf-memory-mib 8 (greatest of the rounds)",
		measured: fmt.Sprintf("%.1f MiB", peakMiB),
		floor:    "idle RSS before it: " + mib(idle),
		ratio:    float64(idle) / float64(peak),
		target:   "≤ 64 MiB", met: yesNo(peakMiB <= 64),
	}, {
		id:       "3c",
		what:     "the same with the default Argon2id memory (64 MiB): the upload plus the new case's one derivation",
		measured: mib(peak64),
		floor:    "–",
	}, {
		id:       "3d",
		what:     "server CPU (user + system) per GiB of attachment, mean of the rounds",
		measured: fmt.Sprintf("%.2f s", cpuPerGiB),
		floor:    fmt.Sprintf("stock `age -R`, same file, same keys (plain runs): %.2f s", ageCPUPerGiB),
		ratio:    ageCPUPerGiB / cpuPerGiB,
		target:   "≤ 2.5 × age", met: yesNo(cpuPerGiB <= 2.5*ageCPUPerGiB),
	}}, nil
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
func uploadFile(base, path string, size int64) (float64, error) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.WriteField("body", "a large file")
	if _, err := mw.CreateFormFile("attachments", "evidence.bin"); err != nil {
		return 0, err
	}
	prefix := bytes.Clone(head.Bytes())
	head.Reset()
	mw.Close()
	suffix := head.Bytes()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	body := io.MultiReader(bytes.NewReader(prefix), f, bytes.NewReader(suffix))
	hc := newHTTPClient(1)
	start := time.Now()
	if _, err := submitReport(context.Background(), hc, base, mw.FormDataContentType(), body,
		int64(len(prefix))+size+int64(len(suffix))); err != nil {
		return 0, err
	}
	return float64(size) / 1e6 / time.Since(start).Seconds(), nil
}
