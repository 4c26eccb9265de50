package main_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// servePostgres starts `candour serve` on the PostgreSQL database dsn,
// given as CANDOUR_DATABASE (as an installation would, so that the URL is
// not on the command line), with its other files in data, and waits until
// it answers. It returns the address and the server's log so far.
func servePostgres(t *testing.T, dsn, data, recipients string) (string, func() string) {
	t.Helper()
	return serveIn(t, candourBin, data, recipients, []string{"CANDOUR_DATABASE=" + dsn})
}

// parseTestDSN parses the URL of a test database and returns it with its
// password, long enough for a test to search output for it.
func parseTestDSN(t *testing.T, dsn string) (*url.URL, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	if len(password) < 16 {
		t.Fatalf("the test database's password %q is too short to look for in output", password)
	}
	return u, password
}

// candourFails runs candour with args and env, expects it to fail, and
// returns what it printed.
func candourFails(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(candourBin, args...)
	cmd.Env = append(os.Environ(), env...)
	onEngine(t, cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err == nil {
		t.Fatalf("candour %s succeeded: %s", strings.Join(args, " "), out.String())
	}
	return out.String()
}

// candourEnv is candour with extra environment variables.
func candourEnv(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(candourBin, args...)
	cmd.Env = append(os.Environ(), env...)
	onEngine(t, cmd)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("candour %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out) + stderr.String()
}

// TestServeOnPostgres runs the service on PostgreSQL as an operator would:
// `candour serve` with CANDOUR_DATABASE set to a postgres:// URL takes a
// report with a file over HTTP, the reporter opens the case, and the
// tools (admin create, audit verify, questionnaire show, export, backup)
// work against the same database beside the running server, by --database
// or CANDOUR_DATABASE. The export decrypts to what was sent, the data
// folder holds no database, and the database's password is printed
// nowhere, not even when it is wrong.
func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	u, password := parseTestDSN(t, dsn)
	dir := t.TempDir()
	keyFile, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")
	base, logs := servePostgres(t, dsn, data, recipients)

	const text = "a report kept in PostgreSQL"
	file := bytes.Repeat([]byte("evidence on PostgreSQL "), 40000) // about 900 KiB: several chunks
	status, page, err := postReport(http.DefaultClient, base, text, file)
	m := caseCodeRE.FindStringSubmatch(page)
	if err != nil || status != http.StatusOK || m == nil {
		t.Fatalf("report: %d %v\n%s", status, err, page)
	}
	code := m[1]
	if status, page, err := openCase(base, code); err != nil || status != http.StatusOK || !strings.Contains(page, text) {
		t.Fatalf("the reporter's case does not open: %d %v", status, err)
	}

	// The tools beside the running server, by --database.
	out := candour(t, "admin", "create", "--database", dsn, "--username", "alice")
	if !strings.Contains(out, `Administrator "alice" created`) {
		t.Errorf("admin create: %s", out)
	}
	if out := candourFails(t, nil, "admin", "create", "--database", dsn, "--username", "alice"); !strings.Contains(out, "already exists") {
		t.Errorf("a second alice: %s", out)
	}
	if out := candour(t, "questionnaire", "show", "--database", dsn, "--channel", "1"); !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("questionnaire show: %s", out)
	}
	exp := filepath.Join(dir, "export")
	if out := candour(t, "export", "--database", dsn, "--out", exp); !strings.Contains(out, "exported 1 cases") {
		t.Errorf("export: %s", out)
	}
	plain := filepath.Join(dir, "plain")
	candour(t, "decrypt", "-i", keyFile, "-o", plain, exp)
	checkTexts(t, plain, []string{text})
	files, _ := filepath.Glob(filepath.Join(plain, "*", "attachments", "evidence.bin"))
	if len(files) != 1 {
		t.Errorf("the export holds %d copies of the file, want 1", len(files))
	} else if got, err := os.ReadFile(files[0]); err != nil || !bytes.Equal(got, file) {
		t.Errorf("the exported file is not what was sent (%d bytes, %v)", len(got), err)
	}

	// By CANDOUR_DATABASE alone: the export and admin create above are in
	// the audit trail, which verifies.
	out = candourEnv(t, []string{"CANDOUR_DATABASE=" + dsn}, "audit", "verify")
	if !strings.Contains(out, "audit trail intact") {
		t.Errorf("audit verify: %s", out)
	}

	// The data folder holds none of the database.
	if _, err := os.Stat(filepath.Join(data, storage.FileName)); err == nil {
		t.Errorf("serve on PostgreSQL made %s in the data folder", storage.FileName)
	}

	// A wrong password is refused without being shown, and so is the
	// right one in every message so far.
	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "wrong-"+password)
	out = candourFails(t, nil, "audit", "verify", "--database", wrong.String())
	if strings.Contains(out, password) {
		t.Errorf("a failed connection printed the password: %s", out)
	}
	if strings.Contains(logs(), password) {
		t.Errorf("the server's log holds the database's password:\n%s", logs())
	}

	t.Run("backup", func(t *testing.T) {
		// A backup on PostgreSQL is a SQLite database, restored as a SQLite
		// installation (the README's way: copied in as candour.db, then the
		// server started on it): the reporter's case opens there with its
		// code, and the audit trail verifies.
		out := candour(t, "backup", "--database", dsn, "--out", filepath.Join(dir, "backup.db"))
		if !strings.Contains(out, "Backup written") || strings.Contains(out, password) {
			t.Errorf("backup: %s", out)
		}
		restored := filepath.Join(dir, "restored")
		keepSQLite(t, restored)
		if err := os.Mkdir(restored, 0o700); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "backup.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(restored, storage.FileName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		base := serve(t, restored, recipients)
		if status, page, err := openCase(base, code); err != nil || status != http.StatusOK || !strings.Contains(page, text) {
			t.Errorf("the reporter's case does not open from the restored backup: %d %v", status, err)
		}
		if out := candour(t, "audit", "verify", "--data", restored); !strings.Contains(out, "audit trail intact") {
			t.Errorf("audit verify of the restored backup: %s", out)
		}
	})
}

// TestDatabaseFlagChoosesTheEngine checks what --database accepts on
// SQLite, and what it refuses, before anything is opened.
func TestDatabaseFlagChoosesTheEngine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	// sqlite:PATH and a bare path are the data folder, as --data is.
	out := candour(t, "admin", "create", "--database", "sqlite:"+data, "--username", "bob")
	if !strings.Contains(out, `Administrator "bob" created`) {
		t.Fatalf("admin create on sqlite:PATH: %s", out)
	}
	if _, err := os.Stat(filepath.Join(data, storage.FileName)); err != nil {
		t.Fatalf("sqlite:PATH did not put the database in PATH: %v", err)
	}
	if out := candour(t, "audit", "verify", "--database", data); !strings.Contains(out, "intact: 1 entries") {
		t.Errorf("audit verify by path: %s", out)
	}
	if out := candourEnv(t, []string{"CANDOUR_DATABASE=sqlite:" + data}, "audit", "verify"); !strings.Contains(out, "intact: 1 entries") {
		t.Errorf("audit verify by CANDOUR_DATABASE: %s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--database", data, "--data", filepath.Join(dir, "other")}, "give one of them"},
		{[]string{"--database", "mysql://root@db/candour"}, "unknown database kind"},
		{[]string{"--database", "sqlite:"}, "needs the data folder"},
	} {
		out := candourFails(t, nil, append([]string{"audit", "verify"}, tc.args...)...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("audit verify %v: %s, want %q", tc.args, out, tc.want)
		}
	}
	// A URL that cannot be read is refused without being quoted.
	secret := "s3cret-not-to-print"
	if out := candourFails(t, nil, "audit", "verify", "--database", "postgres://u:"+secret+"@host:port/x"); strings.Contains(out, secret) {
		t.Errorf("an unreadable URL was quoted: %s", out)
	}
}
