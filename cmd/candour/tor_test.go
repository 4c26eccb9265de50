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
)

// TestOnionServiceWithARealTor follows the operator guide's torrc (its
// proof-of-work defence included, which tor must accept): a real
// tor makes a v3 onion service for Candour, and Candour, given that
// address, advertises it. Tor runs with DisableNetwork 1: it never contacts
// the Tor network or anything beyond this machine.
func TestOnionServiceWithARealTor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hs := filepath.Join(dir, "hs")
	if err := os.Mkdir(hs, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	startTor(t, dir, fmt.Sprintf("HiddenServiceDir %s\nHiddenServiceVersion 3\nHiddenServicePort 80 %s\nHiddenServicePoWDefensesEnabled 1\n", hs, addr))

	var onion string
	waitFor(t, "tor to write its onion service's hostname", func() (bool, error) {
		b, err := os.ReadFile(filepath.Join(hs, "hostname"))
		onion = strings.TrimSpace(string(b))
		return err == nil && onion != "", err
	})
	if !regexp.MustCompile(`^[a-z2-7]{56}\.onion$`).MatchString(onion) {
		t.Fatalf("not a v3 onion address: %q", onion)
	}

	cmd := exec.Command(candourBin, "serve", "--addr", addr, "--data", filepath.Join(dir, "candour"),
		"--demo-keys", filepath.Join(dir, "demo"), "--onion-address", onion, "--kdf-memory-mib", "8", "--kdf-time", "1")
	onEngine(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var res *http.Response
	waitFor(t, "candour to answer on "+addr, func() (bool, error) {
		var err error
		res, err = http.Get("http://" + addr + "/report?x=1")
		return err == nil, err
	})
	res.Body.Close()
	if got, want := res.Header.Get("Onion-Location"), "http://"+onion+"/report?x=1"; got != want {
		t.Fatalf("Onion-Location = %q, want %q", got, want)
	}
}

// startTor runs a tor with DisableNetwork 1 and the given extra torrc
// lines, in dir.
func startTor(t *testing.T, dir, extra string) {
	t.Helper()
	torBin, err := exec.LookPath("tor")
	if err != nil {
		t.Fatal("tor is not installed: run the tests with `make test`, which installs Debian's tor")
	}
	torrc := filepath.Join(dir, "torrc")
	os.WriteFile(torrc, []byte(fmt.Sprintf("DisableNetwork 1\nSocksPort 0\nDataDirectory %s\n%s", filepath.Join(dir, "tordata"), extra)), 0o600)
	tor := exec.Command(torBin, "-f", torrc, "--ignore-missing-torrc")
	if err := tor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tor.Process.Kill(); tor.Wait() })
}

// onionOf starts candour with args and returns the onion address its
// Onion-Location header advertises.
func onionOf(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := onEngine(t, exec.Command(candourBin, append([]string{"serve", "--addr", addr, "--kdf-memory-mib", "8", "--kdf-time", "1"}, args...)...))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("candour's log:\n%s", logs.String())
		}
	}()
	var res *http.Response
	waitFor(t, "candour to answer on "+addr, func() (bool, error) {
		var err error
		res, err = http.Get("http://" + addr + "/")
		return err == nil, err
	})
	res.Body.Close()
	loc := res.Header.Get("Onion-Location")
	m := regexp.MustCompile(`^http://([a-z2-7]{56}\.onion)/$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("Onion-Location = %q", loc)
	}
	return m[1]
}

// TestOnionServiceThroughTheControlPort lets candour publish its own onion
// service through a local tor's control port (cookie authentication), and
// keep the same address across restarts.
func TestOnionServiceThroughTheControlPort(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	control := freeAddr(t)
	startTor(t, dir, "ControlPort "+control+"\nCookieAuthentication 1\n")
	args := []string{"--data", filepath.Join(dir, "data"), "--demo-keys", filepath.Join(dir, "demo"), "--tor-control", control}
	// tor takes a moment to open its control port.
	waitFor(t, "tor to open its control port (its cookie file)", func() (bool, error) {
		_, err := os.Stat(filepath.Join(dir, "tordata", "control_auth_cookie"))
		return err == nil, err
	})
	first := onionOf(t, args...)
	st, err := os.Stat(filepath.Join(dir, "data", "onion-v3.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("onion key file: %v %v", st, err)
	}
	if again := onionOf(t, args...); again != first {
		t.Fatalf("the onion address changed across restarts: %s then %s", first, again)
	}
}
