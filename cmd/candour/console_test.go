package main_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildWithoutConsole builds candour as a fresh clone's plain `go build`
// would, without the staff console's bundle: the same source, with
// frontend/static/staff.js deleted from the build's view through go build's
// -overlay (which go:embed honours), so the real embed and the real check
// are exercised without touching the worktree.
func buildWithoutConsole(t *testing.T) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "frontend", "static", "staff.js"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{script: ""}})
	if err := os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "candour-without-console")
	build := exec.Command("go", "build", "-overlay", filepath.Join(dir, "overlay.json"), "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var consoleBanner = `id="console-missing"`

func TestServeRefusesABinaryWithoutTheStaffConsole(t *testing.T) {
	bin := buildWithoutConsole(t)

	t.Run("serve refuses to start and names the fix", func(t *testing.T) {
		dir := t.TempDir()
		_, recipients := newKey(t, dir)
		addr := freeAddr(t)
		cmd := onEngine(t, exec.Command(bin, "serve", "--addr", addr, "--data", filepath.Join(dir, "data"), "--recipients", recipients))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if cmd.ProcessState.ExitCode() != 1 {
				t.Errorf("exit: %v, want status 1", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatal("serve started without the staff console")
		}
		for _, want := range []string{"without the staff console", "staff.js", "make build", "npm run build", "--allow-missing-console"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("the error does not say %q:\n%s", want, stderr.String())
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
			t.Error("serve created its data folder before refusing")
		}
	})

	t.Run("the environment cannot switch the refusal off by accident", func(t *testing.T) {
		dir := t.TempDir()
		_, recipients := newKey(t, dir)
		cmd := exec.Command(bin, "serve", "--addr", freeAddr(t), "--data", filepath.Join(dir, "data"), "--recipients", recipients)
		cmd.Env = append(os.Environ(), "CANDOUR_ALLOW_MISSING_CONSOLE=false")
		onEngine(t, cmd)
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "make build") {
			t.Errorf("serve: %v\n%s", err, out)
		}
	})

	t.Run("with --allow-missing-console every staff page says the console cannot decrypt", func(t *testing.T) {
		base := serveWith(t, bin, nil, "--allow-missing-console")
		// Staff pages are the staff_*.html templates; the login page is
		// the one a caseworker reaches without an account in this test.
		for _, path := range []string{"/staff/login"} {
			_, page := do(t, http.DefaultClient, "GET", base+path, nil, "")
			if !strings.Contains(page, consoleBanner) || !strings.Contains(page, "make build") {
				t.Errorf("%s has no banner:\n%s", path, page)
			}
		}
		for _, path := range []string{"/", "/report", "/followup"} {
			_, page := do(t, http.DefaultClient, "GET", base+path, nil, "")
			if strings.Contains(page, consoleBanner) {
				t.Errorf("the reporter page %s shows the staff banner", path)
			}
		}
		// The reporter side works: its stylesheet is served by hash.
		_, page := do(t, http.DefaultClient, "GET", base+"/report", nil, "")
		m := regexp.MustCompile(`href="(/static/[0-9a-f]{16}/style\.css)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no hashed stylesheet")
		}
		if res, _ := do(t, http.DefaultClient, "GET", base+m[1], nil, ""); res.StatusCode != 200 {
			t.Errorf("stylesheet: %d", res.StatusCode)
		}
	})
}

func TestServeWithTheStaffConsoleShowsNoBanner(t *testing.T) {
	base := serveWith(t, candourBin, nil)
	_, page := do(t, http.DefaultClient, "GET", base+"/staff/login", nil, "")
	if strings.Contains(page, consoleBanner) {
		t.Fatal("a binary built with the bundle says the console is missing (was `make bundle` run before the tests?)")
	}
}

// TestMakeBuildBundlesFirst checks the Makefile's recipe: `make build` must
// run the bundle before go build, or it makes a binary serve refuses.
func TestMakeBuildBundlesFirst(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	out, err := exec.Command("make", "-C", filepath.Join("..", ".."), "-n", "-B", "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	s := string(out)
	bundle, build := strings.Index(s, "npm run"), strings.Index(s, "go build")
	if bundle < 0 || build < 0 || bundle > build {
		t.Errorf("make build does not bundle before it builds:\n%s", s)
	}
}
