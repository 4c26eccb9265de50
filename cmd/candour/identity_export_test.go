package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/storage"
)

// A report with identity details, exported: the details are
// identity/case-REF.age, which the custodian's own identity opens with
// candour decrypt (identity.json) and with stock age, and the
// organisation's recovery identity does not.
func TestIdentityExportOpensForCustodiansOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	orgFile, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")

	db := openStorage(t, data)
	ctx := context.Background()
	keeper, err := db.CreateStaff(ctx, "keeper", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	keeperKey, err := age.GenerateHybridIdentity() // of the organisation's kind
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		db.SetStaffRecipient(ctx, keeper.ID, keeperKey.Recipient().String()),
		db.SetStaffCustodian(ctx, keeper.ID, true),
		db.SetChannelOfferIdentity(ctx, storage.DefaultChannel, true),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	base := serve(t, data, recipients)
	body, ctype := form(t, [][2]string{{"id_name", "IDENT-NAME Jo Bloggs"}, {"id_role", "PC"}, {"body", "the report"}}, nil)
	if res, page := do(t, http.DefaultClient, "POST", base+"/report", body, ctype); res.StatusCode != 200 {
		t.Fatalf("report with identity: %d\n%s", res.StatusCode, page)
	}
	exp := filepath.Join(dir, "export")
	candour(t, "export", "--data", data, "--out", exp)
	var m struct {
		Cases []struct {
			Ref      string `json:"ref"`
			Identity *struct {
				Path string `json:"path"`
			} `json:"identity"`
		} `json:"cases"`
	}
	raw, err := os.ReadFile(filepath.Join(exp, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil || len(m.Cases) != 1 || m.Cases[0].Identity == nil ||
		m.Cases[0].Identity.Path != "identity/case-"+m.Cases[0].Ref+".age" {
		t.Fatalf("manifest: %v %s", err, raw)
	}
	block := filepath.Join(exp, m.Cases[0].Identity.Path)

	// candour decrypt with a file holding the custodian's key and the
	// organisation's (to read the messages too).
	keeperFile := writeIdentity(t, dir, "keeper.txt", keeperKey)
	both := filepath.Join(dir, "both.txt")
	orgKey, _ := os.ReadFile(orgFile)
	kk, _ := os.ReadFile(keeperFile)
	if err := os.WriteFile(both, append(append(orgKey, '\n'), kk...), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "decrypted")
	candour(t, "decrypt", "-i", both, "-o", out, exp)
	got, err := os.ReadFile(filepath.Join(out, m.Cases[0].Ref, "identity.json"))
	if err != nil || !strings.Contains(string(got), "IDENT-NAME Jo Bloggs") {
		t.Fatalf("identity.json: %v %s", err, got)
	}
	// The organisation's recovery key alone: the messages, not the identity.
	out2 := filepath.Join(dir, "decrypted-org")
	candour(t, "decrypt", "-i", orgFile, "-o", out2, exp)
	if _, err := os.Stat(filepath.Join(out2, m.Cases[0].Ref, "identity.json")); !os.IsNotExist(err) {
		t.Fatalf("the organisation's key decrypted the identity: %v", err)
	}

	// Stock age: the custodian's key opens it, the organisation's does not.
	ageBin := stockAge(t)
	plain, err := exec.Command(ageBin, "-d", "-i", keeperFile, block).Output()
	if err != nil || !strings.Contains(string(plain), "IDENT-NAME Jo Bloggs") {
		t.Fatalf("age -d with the custodian's key: %v %s", err, plain)
	}
	if _, err := exec.Command(ageBin, "-d", "-i", orgFile, block).Output(); err == nil {
		t.Fatal("stock age opened the identity with the organisation's key")
	}
}
