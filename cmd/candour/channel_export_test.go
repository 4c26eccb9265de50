package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/storage"
)

// writeIdentity writes an identity file for stock age and candour decrypt.
func writeIdentity(t *testing.T, dir, name string, id interface{ String() string }) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// encryptTo is what the console does in the browser: an age file of
// plaintext for one recipient.
func encryptTo(t *testing.T, plaintext string, r age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(plaintext))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A report to a channel with a key, exported while the server runs: a
// member's own identity decrypts it, with candour decrypt and with two
// stock age commands (unwrap the channel's identity, then decrypt), and
// no one outside the channel does, though they hold an identity of their
// own and the export.
func TestChannelExportDecryptsForMembersOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")

	// The channel and its key, as an administrator's browser makes them.
	db := openStorage(t, data)
	ctx := context.Background()
	member, err := db.CreateStaff(ctx, "maria", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	outsider, err := db.CreateStaff(ctx, "owen", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	memberKey, _ := age.GenerateX25519Identity()
	outsiderKey, _ := age.GenerateX25519Identity()
	channelKey, err := age.GenerateHybridIdentity() // the organisation's keys are post-quantum
	if err != nil {
		t.Fatal(err)
	}
	ch, err := db.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Kent Police"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddChannelMember(ctx, ch, member.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddChannelKey(ctx, ch, 0, channelKey.Recipient().String(),
		map[int64][]byte{member.ID: encryptTo(t, channelKey.String()+"\n", memberKey.Recipient())}); err != nil {
		t.Fatal(err)
	}
	// Owen, created while the default channel was the only one, is in it
	// and not in Kent Police's.
	if ok, _ := db.IsChannelMember(ctx, ch, outsider.ID); ok {
		t.Fatal("owen is in the channel")
	}
	db.Close()

	base := serve(t, data, recipients)
	body, ctype := form(t, [][2]string{{"channel", strconv.FormatInt(ch, 10)}, {"body", "KENT-REPORT: the group chat"}},
		map[string][]byte{"chat.txt": []byte("KENT-EVIDENCE")})
	res, page := do(t, http.DefaultClient, "POST", base+"/report", body, ctype)
	if res.StatusCode != 200 || !strings.Contains(page, `id="case-code"`) {
		t.Fatalf("report to the channel: %d\n%s", res.StatusCode, page)
	}
	exp := filepath.Join(dir, "export")
	candour(t, "export", "--data", data, "--out", exp)

	var m struct {
		Cases []struct {
			Ref               string `json:"ref"`
			Channel           int64  `json:"channel"`
			ChannelGeneration int    `json:"channel_generation"`
			Files             []struct {
				Path string `json:"path"`
				Kind string `json:"kind"`
			} `json:"files"`
		} `json:"cases"`
		ChannelKeys []struct {
			Channel int64  `json:"channel"`
			Member  string `json:"member"`
			Path    string `json:"path"`
		} `json:"channel_keys"`
	}
	raw, err := os.ReadFile(filepath.Join(exp, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Cases) != 1 || m.Cases[0].Channel != ch || m.Cases[0].ChannelGeneration != 1 || len(m.ChannelKeys) != 1 || m.ChannelKeys[0].Member != "maria" {
		t.Fatalf("manifest: %s", raw)
	}

	// candour decrypt with the member's own identity.
	memberFile := writeIdentity(t, dir, "maria.txt", memberKey)
	out := filepath.Join(dir, "maria-decrypted")
	candour(t, "decrypt", "-i", memberFile, "-o", out, exp)
	got, _ := filepath.Glob(filepath.Join(out, m.Cases[0].Ref, "message-*.txt"))
	if len(got) != 1 {
		t.Fatalf("decrypted messages: %v", got)
	}
	if text, _ := os.ReadFile(got[0]); !strings.Contains(string(text), "KENT-REPORT") {
		t.Fatalf("decrypted message: %s", text)
	}
	if ev, _ := os.ReadFile(filepath.Join(out, m.Cases[0].Ref, "attachments", "chat.txt")); string(ev) != "KENT-EVIDENCE" {
		t.Fatalf("decrypted attachment: %q", ev)
	}

	// Two stock age commands do the same.
	ageBin := stockAge(t)
	channelFile := filepath.Join(dir, "channel.txt")
	unwrap := exec.Command(ageBin, "-d", "-i", memberFile, "-o", channelFile, filepath.Join(exp, m.ChannelKeys[0].Path))
	if b, err := unwrap.CombinedOutput(); err != nil {
		t.Fatalf("age -d the wrap: %v %s", err, b)
	}
	var message string
	for _, f := range m.Cases[0].Files {
		if f.Kind == "message" {
			message = filepath.Join(exp, f.Path)
		}
	}
	plain, err := exec.Command(ageBin, "-d", "-i", channelFile, message).Output()
	if err != nil || !bytes.Contains(plain, []byte("KENT-REPORT")) {
		t.Fatalf("age -d the message with the channel's identity: %v %s", err, plain)
	}

	// Someone outside the channel decrypts nothing, with either tool.
	outsiderFile := writeIdentity(t, dir, "owen.txt", outsiderKey)
	cmd := exec.Command(candourBin, "decrypt", "-i", outsiderFile, "-o", filepath.Join(dir, "owen-decrypted"), exp)
	if b, err := cmd.CombinedOutput(); err == nil || strings.Contains(string(b), "KENT-REPORT") {
		t.Fatalf("candour decrypt by an outsider succeeded: %s", b)
	}
	if plain, err := exec.Command(ageBin, "-d", "-i", outsiderFile, message).Output(); err == nil || bytes.Contains(plain, []byte("KENT")) {
		t.Fatal("stock age decrypted the channel's report with an outsider's identity")
	}
	if _, err := exec.Command(ageBin, "-d", "-i", outsiderFile, filepath.Join(exp, m.ChannelKeys[0].Path)).Output(); err == nil {
		t.Fatal("an outsider opened the member's wrap")
	}
}
