package main_test

import (
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age/plugin"
)

// candour decrypt with an identity wrapped by a passkey or security key:
// the file that the console's "Protect my key with a passkey" made
// (testdata/fido2prf-wrapped.age, made by keywrap.js itself with a stand-in
// authenticator, tests/unit/keywrap.test.mjs) is opened through the age
// plugin age-plugin-fido2prf, here a test-only one with the same emulated
// authenticator (testdata/fido2prf-plugin), and the key it holds decrypts
// an export: for a passkey (no identity string, with or without -j
// fido2prf) and for a security key (its AGE-PLUGIN-FIDO2PRF-1… string in
// another -i file). A key the string does not name, and a missing plugin,
// are refused with a clear error.
func TestDecryptWithPasskeyWrappedIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "age-plugin-fido2prf"), "./testdata/fido2prf-plugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the test plugin: %v\n%s", err, out)
	}
	wrapped, _ := filepath.Abs("testdata/fido2prf-wrapped.age")
	idString, _ := filepath.Abs("testdata/fido2prf-identity.txt")
	unwrapped, _ := filepath.Abs("testdata/fido2prf-unwrapped.txt")

	// An export whose organisation key is the one the wrapped file holds.
	pub := strings.TrimSpace(candour(t, "keygen", "-y", unwrapped))
	recipients := filepath.Join(dir, "recipients.txt")
	if err := os.WriteFile(recipients, []byte(pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	base := serve(t, data, recipients)
	body, ctype := form(t, [][2]string{{"body", "The report a passkey opens."}}, nil)
	if res, _ := do(t, http.DefaultClient, "POST", base+"/report", body, ctype); res.StatusCode != http.StatusOK {
		t.Fatalf("submit: %d", res.StatusCode)
	}
	exp := filepath.Join(dir, "export")
	candour(t, "export", "--data", data, "--out", exp)

	s, err := os.ReadFile(idString)
	if err != nil {
		t.Fatal(err)
	}
	_, idData, err := plugin.ParseIdentity(strings.TrimSpace(string(s)))
	if err != nil || len(idData) < 2+16 || idData[1] != 0x40|16 {
		t.Fatalf("the fixture's identity string: %v", err)
	}
	credential := hex.EncodeToString(idData[2 : 2+16])

	decrypt := func(path string, env []string, args ...string) (string, string, error) {
		out := filepath.Join(dir, "plain-"+strings.ReplaceAll(t.Name(), "/", "-"))
		os.RemoveAll(out)
		cmd := exec.Command(candourBin, append(append([]string{"decrypt"}, args...), "-o", out, exp)...)
		cmd.Env = append([]string{"PATH=" + path, "HOME=" + dir}, env...)
		combined, err := cmd.CombinedOutput()
		texts, _ := filepath.Glob(filepath.Join(out, "*", "message-*.txt"))
		var all string
		for _, p := range texts {
			b, _ := os.ReadFile(p)
			all += string(b)
		}
		return all, string(combined), err
	}

	for name, c := range map[string]struct {
		args []string
		env  []string
	}{
		"a passkey, the plugin found by itself": {args: []string{"-i", wrapped}},
		"a passkey, with -j fido2prf":           {args: []string{"-j", "fido2prf", "-i", wrapped}},
		"a security key, by its identity string": {args: []string{"-i", idString, "-i", wrapped},
			env: []string{"FIDO2PRF_TEST_CREDENTIAL=" + credential}},
	} {
		t.Run(name, func(t *testing.T) {
			texts, output, err := decrypt(pluginDir, c.env, c.args...)
			if err != nil || !strings.Contains(texts, "The report a passkey opens.") {
				t.Fatalf("err %v, messages %q\n%s", err, texts, output)
			}
			if !strings.Contains(output, "fido2prf plugin: touch your security key") {
				t.Errorf("the plugin's message was not shown: %s", output)
			}
		})
	}

	t.Run("another security key is refused", func(t *testing.T) {
		_, output, err := decrypt(pluginDir, []string{"FIDO2PRF_TEST_CREDENTIAL=" + strings.Repeat("00", 16)}, "-i", idString, "-i", wrapped)
		if err == nil || !strings.Contains(output, "failed to open the wrapped identity") {
			t.Fatalf("err %v\n%s", err, output)
		}
	})
	t.Run("without the plugin, the error says to install it", func(t *testing.T) {
		_, output, err := decrypt(filepath.Join(dir, "empty"), nil, "-i", wrapped)
		if err == nil || !strings.Contains(output, "install age-plugin-fido2prf") {
			t.Fatalf("err %v\n%s", err, output)
		}
	})
	t.Run("the plain key file still works", func(t *testing.T) {
		if texts, output, err := decrypt(filepath.Join(dir, "empty"), nil, "-i", unwrapped); err != nil || !strings.Contains(texts, "The report a passkey opens.") {
			t.Fatalf("err %v\n%s", err, output)
		}
	})
}
