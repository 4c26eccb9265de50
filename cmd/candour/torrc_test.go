package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDeployTorrcsAreValid checks the torrc files the compose set-ups give
// their tor container (deploy/tor/torrc for compose.yaml,
// deploy/tor/torrc.two-instances for compose.postgres.yaml) with the real
// tor's --verify-config, so that an option tor renames or drops fails here
// rather than on an operator's machine. Only the paths and the targets'
// names change: tor resolves a target's name when it reads its
// configuration, and the compose services' names (candour, candour-1,
// candour-2) exist only on the compose network, so each becomes 127.0.0.1
// with its own port. The two-instance file must send the onion service's
// port 80 to both instances.
func TestDeployTorrcsAreValid(t *testing.T) {
	t.Parallel()
	torBin, err := exec.LookPath("tor")
	if err != nil {
		t.Fatal("tor is not installed: run the tests with `make test`, which installs Debian's tor")
	}
	targets := regexp.MustCompile(`(?m)^HiddenServicePort 80 (\S+)$`)
	for file, want := range map[string][]string{
		"torrc":               {"candour:8080"},
		"torrc.two-instances": {"candour-1:8080", "candour-2:8080"},
	} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "tor", file))
			if err != nil {
				t.Fatal(err)
			}
			conf := string(b)
			var got []string
			for _, m := range targets.FindAllStringSubmatch(conf, -1) {
				got = append(got, m[1])
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("HiddenServicePort 80 goes to %v, want %v", got, want)
			}
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			conf = strings.ReplaceAll(conf, "/var/lib/tor", dir)
			for i, target := range want {
				conf = strings.Replace(conf, " "+target+"\n", " 127.0.0.1:"+[]string{"18080", "18081"}[i]+"\n", 1)
			}
			torrc := filepath.Join(dir, "torrc")
			if err := os.WriteFile(torrc, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(torBin, "--verify-config", "-f", torrc).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Configuration was valid") {
				t.Fatalf("tor --verify-config refuses %s: %v\n%s", file, err, out)
			}
		})
	}
}
