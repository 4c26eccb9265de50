package main_test

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthcheck: the container's HEALTHCHECK runs `candour healthcheck`,
// which must succeed against a serving instance and fail, with exit status
// 1, when nothing answers.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	base := serve(t, filepath.Join(dir, "data"), recipients)

	res, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /healthz: %s, Cache-Control %q", res.Status, res.Header.Get("Cache-Control"))
	}
	if out := candour(t, "healthcheck", "--url", base+"/healthz"); strings.TrimSpace(out) != "ok" {
		t.Fatalf("healthcheck printed %q", out)
	}

	t.Run("follows CANDOUR_ADDR", func(t *testing.T) {
		cmd := exec.Command(candourBin, "healthcheck")
		cmd.Env = append(os.Environ(), "CANDOUR_ADDR="+strings.TrimPrefix(base, "http://"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("healthcheck: %v\n%s", err, out)
		}
	})
	t.Run("fails when nothing answers", func(t *testing.T) {
		cmd := exec.Command(candourBin, "healthcheck", "--url", "http://"+freeAddr(t)+"/healthz", "--timeout", "2s")
		var exit *exec.ExitError
		if err := cmd.Run(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("healthcheck against a closed port: %v, want exit status 1", err)
		}
	})
	t.Run("fails on a page that is not healthy", func(t *testing.T) {
		cmd := exec.Command(candourBin, "healthcheck", "--url", base+"/no-such-page")
		if err := cmd.Run(); err == nil {
			t.Fatal("healthcheck accepted a 404")
		}
	})
}
