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
	"time"
)

// benchUpload is benchmark 3: one large attachment (1 GiB) sent with a new
// report through the web form, against the stock age command encrypting
// the same file to as many recipients, and the server's peak RSS.
//
// The server runs with --kdf-memory-mib 8: the new case's one Argon2id
// derivation would otherwise hold 64 MiB by itself, which is the KDF's
// memory (bounded separately, by --kdf-concurrency), not the upload's.
func benchUpload(e *env) ([]result, error) {
	big := filepath.Join(e.dir, "big.bin")
	defer os.Remove(big)
	logf("3: writing a %d MiB pseudo-random file", e.o.bigSize>>20)
	if err := writeRandomFile(big, e.o.bigSize); err != nil {
		return nil, err
	}
	ageOut := filepath.Join(e.dir, "big.bin.age")
	defer os.Remove(ageOut)
	stockAge := func() (float64, error) {
		os.Remove(ageOut)
		start := time.Now()
		out, err := exec.Command(e.o.age, "-R", e.ageRecipientsFile, "-o", ageOut, big).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("age: %v: %s", err, out)
		}
		secs := time.Since(start).Seconds()
		os.Remove(ageOut)
		return float64(e.o.bigSize) / 1e6 / secs, nil
	}
	logf("3: floor, stock age to 6 post-quantum recipients")
	x, err := stockAge()
	if err != nil {
		return nil, err
	}
	f := samples{x}

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
	logf("3: uploading through the web form, server with --kdf-memory-mib 8")
	mbps, idle, peak, cpu, err := upload("3-upload", "--kdf-memory-mib", "8")
	if err != nil {
		return nil, err
	}
	logf("3: uploading again, server with the default Argon2id memory")
	mbps64, _, peak64, _, err := upload("3-upload-default-kdf")
	if err != nil {
		return nil, err
	}

	logf("3: floor again")
	if x, err = stockAge(); err != nil {
		return nil, err
	}
	f = append(f, x)
	ratio := mbps / f.mean()
	peakMiB := float64(peak) / 1024
	return []result{{
		id:       "3a",
		what:     fmt.Sprintf("one %d MiB attachment with a new report, web form upload", e.o.bigSize>>20),
		measured: fmt.Sprintf("%.0f MB/s", mbps),
		floor:    "stock `age -R` (6 PQ keys) to a file on the same disk: " + f.String("MB/s"),
		ratio:    ratio, target: "≥ 0.8", met: yesNo(ratio >= 0.8),
		notes: []string{
			cpu.String(),
			fmt.Sprintf("second upload (default Argon2id memory): %.0f MB/s", mbps64),
		},
	}, {
		id:       "3b",
		what:     "peak RSS of the server (VmHWM) over that upload, server started with --kdf-memory-mib 8",
		measured: fmt.Sprintf("%.1f MiB", peakMiB),
		floor:    "idle RSS before it: " + mib(idle),
		ratio:    float64(idle) / float64(peak),
		target:   "≤ 64 MiB", met: yesNo(peakMiB <= 64),
	}, {
		id:       "3c",
		what:     "the same with the default Argon2id memory (64 MiB): the upload plus the new case's one derivation",
		measured: mib(peak64),
		floor:    "–",
	}}, nil
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
