package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stockAgeKeygen finds the stock age-keygen command (installed by
// `make tools`, like age).
func stockAgeKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("age-keygen")
	if err != nil {
		p, err = filepath.Abs(filepath.Join("..", "..", ".bin", "age-keygen"))
		if _, serr := os.Stat(p); err != nil || serr != nil {
			t.Fatal("the stock age-keygen command is not installed: run `make tools`, which installs it")
		}
	}
	return p
}

func TestKeygenYPrintsWhatAgeKeygenPrints(t *testing.T) {
	ageKeygen := stockAgeKeygen(t)
	dir := t.TempDir()
	file := func(name string, cmd *exec.Cmd) string {
		t.Helper()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pq := file("pq", exec.Command(candourBin, "keygen"))
	classic := file("classic", exec.Command(candourBin, "keygen", "--classic"))
	stockPQ := file("stock-pq", exec.Command(ageKeygen, "-pq"))
	stockClassic := file("stock-classic", exec.Command(ageKeygen))
	var both []byte
	for _, p := range []string{pq, classic, stockPQ} {
		b, _ := os.ReadFile(p)
		both = append(both, b...)
	}
	mixed := filepath.Join(dir, "mixed")
	if err := os.WriteFile(mixed, both, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, file, prefix string }{
		{"a post-quantum identity from candour keygen", pq, "age1pq1"},
		{"a classic identity from candour keygen --classic", classic, "age1"},
		{"a post-quantum identity from age-keygen -pq", stockPQ, "age1pq1"},
		{"a classic identity from age-keygen", stockClassic, "age1"},
		{"a file of several identities of both kinds", mixed, "age1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := exec.Command(ageKeygen, "-y", tc.file).Output()
			if err != nil {
				t.Fatal(err)
			}
			got := candour(t, "keygen", "-y", tc.file)
			if got != string(want) {
				t.Errorf("candour keygen -y printed\n%q\nage-keygen -y printed\n%q", got, want)
			}
			if !strings.HasPrefix(got, tc.prefix) {
				t.Errorf("output %.20q… does not start with %s", got, tc.prefix)
			}
			// The "# public key:" comment of a generated file agrees.
			text, _ := os.ReadFile(tc.file)
			first := strings.SplitN(got, "\n", 2)[0]
			if !strings.Contains(string(text), "# public key: "+first+"\n") {
				t.Error("the first recipient is not the file's # public key line")
			}

			t.Run("read from standard input with -", func(t *testing.T) {
				cmd := exec.Command(candourBin, "keygen", "-y", "-")
				cmd.Stdin = bytes.NewReader(text)
				out, err := cmd.Output()
				if err != nil || string(out) != string(want) {
					t.Errorf("got %q, %v", out, err)
				}
			})
		})
	}

	t.Run("-o writes the recipients to a new file that age -R reads", func(t *testing.T) {
		out := filepath.Join(dir, "recipients.txt")
		candour(t, "keygen", "-y", "-o", out, pq)
		got, _ := os.ReadFile(out)
		want, _ := exec.Command(ageKeygen, "-y", pq).Output()
		if string(got) != string(want) {
			t.Errorf("file holds %q", got)
		}
		if err := exec.Command(candourBin, "keygen", "-y", "-o", out, pq).Run(); err == nil {
			t.Error("-o overwrote an existing file")
		}
	})

	t.Run("a file that is not an identity file is refused without quoting it", func(t *testing.T) {
		bad := filepath.Join(dir, "bad")
		secretish := "AGE-SECRET-KEY-1NOTAREALKEYBUTLOOKSLIKEONE"
		os.WriteFile(bad, []byte(secretish+"\n"), 0o600)
		for _, args := range [][]string{{"keygen", "-y", bad}, {"keygen", "-y", filepath.Join(dir, "missing")}, {"keygen", "-y", os.DevNull}} {
			cmd := exec.Command(candourBin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err == nil || len(out) != 0 {
				t.Errorf("%v: succeeded with %q", args, out)
			}
			if strings.Contains(stderr.String(), secretish) {
				t.Errorf("%v: the error quotes the file: %s", args, stderr.String())
			}
		}
	})
}
