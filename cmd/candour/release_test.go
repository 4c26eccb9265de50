package main_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDatabaseOfAnEarlierReleaseMigrates serves a database made by the
// release before channels and questionnaires (testdata/release-b6357ec,
// made by that release's own binary; on PostgreSQL, moved there first by
// migrate-db): after migration every case still
// opens with its code, shows what the reporter sent, takes a follow-up,
// and decrypts for staff with the organisation's key, by candour decrypt
// and by stock age.
func TestDatabaseOfAnEarlierReleaseMigrates(t *testing.T) {
	t.Parallel()
	ageBin := stockAge(t)
	fixture := filepath.Join("testdata", "release-b6357ec")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	// On PostgreSQL the earlier release's SQLite installation is moved
	// there with migrate-db, as its operator would, and the service runs
	// on PostgreSQL from then on.
	old := data
	if onPostgres() {
		old = filepath.Join(dir, "sqlite")
		keepSQLite(t, old)
	}
	if err := os.MkdirAll(old, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join(fixture, "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "candour.db"), db, 0o600); err != nil {
		t.Fatal(err)
	}
	if onPostgres() {
		// migrate-db takes an installation of this release's schema:
		// the earlier one is brought up to it on SQLite first.
		if out := candour(t, "migrate", "--apply", "--data", old); !strings.Contains(out, "Applied") {
			t.Fatalf("migrate --apply of the earlier release's installation: %s", out)
		}
		out := candourEnv(t, []string{"CANDOUR_DATABASE=" + folderDSN(t, data)}, "migrate-db", "--from", old)
		if !strings.Contains(out, "verified:") {
			t.Fatalf("migrate-db of the earlier release's installation: %s", out)
		}
	}
	keyFile, err := filepath.Abs(filepath.Join(fixture, "DEMO-identity.txt"))
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.ReadFile(filepath.Join(fixture, "red.png"))
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, data, filepath.Join(fixture, "DEMO-recipients.txt"))

	cases := []struct{ code, text string }{
		{"Q4FE-4WVF-PM32-YP1J-G9PE", "Racist memes in the shift chat, first case."},
		{"MH0P-EJJJ-68TM-8MFE-Y2NP", "Second report: sergeant posted homophobic jokes."},
	}
	for _, tc := range cases {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		res, page := do(t, c, "POST", base+"/followup", strings.NewReader(url.Values{"code": {tc.code}}.Encode()),
			"application/x-www-form-urlencoded")
		if res.StatusCode != 200 || !strings.Contains(page, tc.text) {
			t.Fatalf("case %s after migration: %d\n%s", tc.code, res.StatusCode, page)
		}
		if tc.code == cases[1].code && !strings.Contains(page, "A follow-up: the group has 14 members.") {
			t.Fatalf("the follow-up of %s is missing:\n%s", tc.code, page)
		}
		if tc.code == cases[0].code && !strings.Contains(page, "red.png") {
			t.Fatalf("the attachment of %s is missing:\n%s", tc.code, page)
		}
	}
	// A new report to the migrated database goes to its default channel.
	body, ctype := form(t, [][2]string{{"body", "A report after the upgrade."}}, nil)
	if res, page := do(t, http.DefaultClient, "POST", base+"/report", body, ctype); res.StatusCode != 200 || !strings.Contains(page, `id="case-code"`) {
		t.Fatalf("a report after migration: %d %s", res.StatusCode, page)
	}

	exp := filepath.Join(dir, "export")
	candour(t, "export", "--data", data, "--out", exp)
	plain := filepath.Join(dir, "plain")
	candour(t, "decrypt", "-i", keyFile, "-o", plain, exp)
	var all []byte
	err = filepath.WalkDir(plain, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]byte{[]byte(cases[0].text), []byte(cases[1].text), []byte("A follow-up: the group has 14 members."),
		[]byte("A report after the upgrade."), photo} {
		if !bytes.Contains(all, want) {
			t.Errorf("candour decrypt of the migrated database lacks %.60q", want)
		}
	}
	// Stock age opens every file of the export with the same key.
	raw, err := os.ReadFile(filepath.Join(exp, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Cases []struct {
			Files []struct{ Path string }
		}
	}
	if err := json.Unmarshal(raw, &manifest); err != nil || len(manifest.Cases) != 3 {
		t.Fatalf("manifest of the migrated database: %v %s", err, raw)
	}
	n := 0
	for _, c := range manifest.Cases {
		for _, f := range c.Files {
			if !strings.HasSuffix(f.Path, ".age") || strings.Contains(f.Path, "wrap-") {
				continue
			}
			if out, err := exec.Command(ageBin, "-d", "-i", keyFile, filepath.Join(exp, f.Path)).CombinedOutput(); err != nil {
				t.Errorf("stock age could not decrypt %s: %v %s", f.Path, err, out)
			}
			n++
		}
	}
	if n < 5 { // three first messages, a follow-up and the photo
		t.Errorf("stock age decrypted %d files", n)
	}
}
