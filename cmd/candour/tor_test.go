package main_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestOnionServiceWithARealTor follows the operator guide's torrc: a real
// tor makes a v3 onion service for Candour, and Candour, given that
// address, advertises it. Tor runs with DisableNetwork 1: it never contacts
// the Tor network or anything beyond this machine.
func TestOnionServiceWithARealTor(t *testing.T) {
	torBin, err := exec.LookPath("tor")
	if err != nil {
		t.Fatal("tor is not installed: run the tests with `make test`, which installs Debian's tor")
	}
	dir := t.TempDir()
	hs := filepath.Join(dir, "hs")
	if err := os.Mkdir(hs, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	torrc := filepath.Join(dir, "torrc")
	os.WriteFile(torrc, []byte(fmt.Sprintf(`DisableNetwork 1
SocksPort 0
DataDirectory %s
HiddenServiceDir %s
HiddenServiceVersion 3
HiddenServicePort 80 %s
`, filepath.Join(dir, "data"), hs, addr)), 0o600)
	tor := exec.Command(torBin, "-f", torrc, "--ignore-missing-torrc")
	if err := tor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tor.Process.Kill(); tor.Wait() })

	var onion string
	for i := 0; onion == ""; i++ {
		if b, err := os.ReadFile(filepath.Join(hs, "hostname")); err == nil {
			onion = strings.TrimSpace(string(b))
		} else if i > 600 {
			t.Fatal("tor made no onion service")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !regexp.MustCompile(`^[a-z2-7]{56}\.onion$`).MatchString(onion) {
		t.Fatalf("not a v3 onion address: %q", onion)
	}

	cmd := exec.Command(candourBin, "serve", "--addr", addr, "--data", filepath.Join(dir, "candour"),
		"--demo-keys", filepath.Join(dir, "demo"), "--onion-address", onion, "--kdf-memory-mib", "8", "--kdf-time", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var res *http.Response
	for i := 0; ; i++ {
		if res, err = http.Get("http://" + addr + "/report?x=1"); err == nil {
			break
		}
		if i > 300 {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.Body.Close()
	if got, want := res.Header.Get("Onion-Location"), "http://"+onion+"/report?x=1"; got != want {
		t.Fatalf("Onion-Location = %q, want %q", got, want)
	}
}
