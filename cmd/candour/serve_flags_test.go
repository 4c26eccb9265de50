package main_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveWith starts `candour serve` on a free address with the test's quick
// KDF settings, extra environment variables and arguments, and waits until
// it answers.
func serveWith(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	base, _ := serveIn(t, bin, filepath.Join(dir, "data"), recipients, env, args...)
	return base
}

// serveIn starts bin's `candour serve` on a free 127.0.0.1 port with the
// data folder data, the recipients file and the tests' fast KDF settings,
// extra environment variables and arguments, and waits until it answers.
// It returns the address and the server's log so far.
func serveIn(t *testing.T, bin, data, recipients string, env []string, args ...string) (string, func() string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data", data, "--recipients", recipients,
		"--kdf-memory-mib", "8", "--kdf-time", "1", "--login-floor", "10ms"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	onEngine(t, cmd)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the process has ended and waitErr holds why,
	// so that both the start-up wait and the clean-up can see it.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(patience):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	waitFor(t, "candour serve to answer on "+addr, func() (bool, error) {
		select {
		case <-exited:
			t.Fatalf("server exited: %v\n%s", waitErr, logs.String())
		default:
		}
		res, err := http.Get(base + "/")
		if err != nil {
			return false, err
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, nil
	})
	return base, logs.String
}

func TestServeSizeFlagsTakeUnits(t *testing.T) {
	base := serveWith(t, candourBin, []string{"CANDOUR_MAX_UPLOAD=5MiB", "CANDOUR_MAX_CLEAN=1m"}, "--max-file", "3M", "--max-text", "5K")
	_, page := do(t, http.DefaultClient, "GET", base+"/report", nil, "")
	for _, want := range []string{"3 MiB", "5 MiB", "1 MiB", "5,120 characters"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report form does not mention %q", want)
		}
	}
}

func TestServeRefusesNonsenseSizes(t *testing.T) {
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"a negative --max-file", nil, []string{"--max-file", "-1"}, `invalid value "-1" for flag -max-file`},
		{"a version number as --max-upload", nil, []string{"--max-upload=1.5.2M"}, `"1.5.2M" is not a size`},
		{"an unknown unit in --max-text", nil, []string{"--max-text", "10XB"}, `"10XB" is not a size`},
		{"an overflowing --max-file", nil, []string{"--max-file", "99999999999G"}, "too large"},
		{"a nonsense CANDOUR_MAX_FILE", []string{"CANDOUR_MAX_FILE=lots"}, nil, `invalid CANDOUR_MAX_FILE: "lots" is not a size`},
	} {
		t.Run(tc.name, func(t *testing.T) { serveRefuses(t, dir, recipients, tc.env, tc.args, tc.want) })
	}
}

func TestServeRefusesARefusalIntervalUnderAnHour(t *testing.T) {
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"on the command line", nil, []string{"--refusal-interval", "59m"}},
		{"in CANDOUR_REFUSAL_INTERVAL", []string{"CANDOUR_REFUSAL_INTERVAL=15s"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(candourBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--recipients", recipients}, tc.args...)...)
			cmd.Env = append(os.Environ(), tc.env...)
			onEngine(t, cmd)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatal("serve started")
			}
			if !strings.Contains(string(out), "is too short") {
				t.Errorf("output does not say the interval is too short:\n%s", out)
			}
		})
	}
}

// serveRefuses runs candour serve with env and args over the data folder
// in dir and wants it to refuse to start, saying want.
func serveRefuses(t *testing.T, dir, recipients string, env, args []string, want string) {
	t.Helper()
	cmd := exec.Command(candourBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--recipients", recipients}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	onEngine(t, cmd)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve started")
	}
	if !strings.Contains(string(out), want) {
		t.Errorf("output does not say %q:\n%s", want, out)
	}
}
