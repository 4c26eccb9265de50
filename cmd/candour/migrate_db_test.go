package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	// The "pgx" driver, to tamper with the PostgreSQL database as someone
	// with write access to it could.
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// withoutPassword splits a test database's URL into the URL without its
// password and a file holding the password, as an operator would keep
// them (the URL on the command line, the password in a file).
func withoutPassword(t *testing.T, dsn, dir string) (string, string, string) {
	t.Helper()
	u, password := parseTestDSN(t, dsn)
	u.User = url.User(u.User.Username())
	file := filepath.Join(dir, "pgpassword")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return u.String(), file, password
}

// TestMigrateDBMovesEveryCase moves a SQLite installation made through
// the real server into PostgreSQL with the real `candour migrate-db`, and
// checks the move as a reporter and a caseworker would: the service on
// PostgreSQL opens EVERY case code through /followup and shows the report,
// the follow-up and the staff reply; the export from PostgreSQL decrypts
// with the organisation's age identity to the texts and files sent; the
// audit trail verifies; `candour migrate` says the schema is up to date.
// migrate-db refuses while the SQLite server runs, and the database's
// password (from --password-file) is printed nowhere. Last, a ciphertext
// changed on PostgreSQL makes `migrate-db --verify-only` fail.
func TestMigrateDBMovesEveryCase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyFile, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")
	keepSQLite(t, data) // the installation to move
	addr := freeAddr(t)
	server := startServer(t, data, recipients, addr)
	base := "http://" + addr

	type sent struct {
		code, text string
		file       []byte
	}
	reports := []sent{
		{text: "first report, with a file of several chunks", file: bytes.Repeat([]byte("chunked evidence "), 150000)}, // about 2.4 MiB
		{text: "second report, with a small file", file: []byte("a small piece of evidence")},
		{text: "third report, text only"},
	}
	for i := range reports {
		status, page, err := postReport(http.DefaultClient, base, reports[i].text, reports[i].file)
		m := caseCodeRE.FindStringSubmatch(page)
		if err != nil || status != http.StatusOK || m == nil {
			t.Fatalf("report %d: %d %v", i, status, err)
		}
		reports[i].code = m[1]
	}
	const followUp = "a follow-up from the first reporter"
	followFile := []byte("evidence sent with the follow-up")
	s, err := loginCase(base, reports[0].code)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.send(base, followUp, followFile); err != nil {
		t.Fatal(err)
	}
	candour(t, "admin", "create", "--data", data, "--username", "alice")

	cluster := pgtest.Start(t)
	dsn := cluster.NewDatabase(t)
	target, passwordFile, password := withoutPassword(t, dsn, dir)

	// While the server runs, the installation is refused, before the
	// target is touched.
	out := candourFails(t, nil, "migrate-db", "--from", data, "--to", target, "--password-file", passwordFile)
	if !strings.Contains(out, "in use") {
		t.Errorf("migrate-db beside the running server: %s", out)
	}
	if _, err := storage.OpenPostgresTool(dsn); !errors.Is(err, storage.ErrNoDatabase) {
		t.Errorf("the refused move touched the target: %v", err)
	}
	server.Process.Signal(os.Interrupt)
	server.Wait()

	// A staff reply to every case, as the console stores one: sealed to
	// the organisation and the case's own key.
	replies := staffReplies(t, data, recipients)

	out = candour(t, "migrate-db", "--from", data, "--to", target, "--password-file", passwordFile)
	if !strings.Contains(out, "verified:") || !strings.Contains(out, "audit trail intact (1 entries)") ||
		!strings.Contains(out, "3 attachments") || !strings.Contains(out, "cases") {
		t.Errorf("migrate-db: %s", out)
	}
	if strings.Contains(out, password) {
		t.Errorf("migrate-db printed the database's password: %s", out)
	}
	t.Logf("migrate-db:\n%s", out)

	pgBase, logs := servePostgres(t, dsn, filepath.Join(dir, "pgdata"), recipients)
	for i, r := range reports {
		status, page, err := openCase(pgBase, r.code)
		if err != nil || status != http.StatusOK {
			t.Fatalf("case code %d does not open on PostgreSQL: %d %v", i, status, err)
		}
		if !strings.Contains(page, r.text) {
			t.Errorf("case %d on PostgreSQL lacks its report %q", i, r.text)
		}
		if i == 0 && !strings.Contains(page, followUp) {
			t.Errorf("case 0 on PostgreSQL lacks the follow-up")
		}
		found := false
		for _, reply := range replies {
			found = found || strings.Contains(page, reply)
		}
		if !found {
			t.Errorf("case %d on PostgreSQL lacks its staff reply", i)
		}
	}

	exp := filepath.Join(dir, "export")
	candourEnv(t, []string{"CANDOUR_DATABASE=" + dsn}, "export", "--out", exp)
	plain := filepath.Join(dir, "plain")
	candour(t, "decrypt", "-i", keyFile, "-o", plain, exp)
	texts := append([]string{followUp}, replies...)
	for _, r := range reports {
		texts = append(texts, r.text)
	}
	checkTexts(t, plain, texts)
	for _, want := range [][]byte{reports[0].file, reports[1].file, followFile} {
		if !decryptedFileHolds(t, plain, want) {
			t.Errorf("no decrypted attachment from PostgreSQL is the %d bytes sent", len(want))
		}
	}
	if out := candourEnv(t, []string{"CANDOUR_DATABASE=" + dsn}, "audit", "verify"); !strings.Contains(out, "audit trail intact") {
		t.Errorf("audit verify on PostgreSQL: %s", out)
	}
	if out := candourEnv(t, []string{"CANDOUR_DATABASE=" + dsn}, "migrate"); !strings.Contains(out, "up to date") || !strings.Contains(out, "0001_schema.sql") {
		t.Errorf("migrate on the moved database: %s", out)
	}
	if strings.Contains(logs(), password) {
		t.Errorf("the server's log holds the database's password")
	}

	t.Run("a changed ciphertext fails the verification", func(t *testing.T) {
		// Into a database of its own: the one above has moved on (the
		// export added to its audit trail).
		dsn := cluster.NewDatabase(t)
		target, passwordFile, _ := withoutPassword(t, dsn, t.TempDir())
		candour(t, "migrate-db", "--from", data, "--to", target, "--password-file", passwordFile)
		if out := candour(t, "migrate-db", "--from", data, "--to", target, "--password-file", passwordFile, "--verify-only"); !strings.Contains(out, "verified:") {
			t.Fatalf("verify-only of the untouched copy: %s", out)
		}
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		res, err := raw.Exec(`UPDATE messages SET ciphertext = overlay(ciphertext placing '\x00'::bytea from length(ciphertext) - 20 for 1)
			WHERE id = (SELECT min(id) FROM messages)`)
		if n, _ := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("tampering: %v (%d rows)", err, n)
		}
		out := candourFails(t, nil, "migrate-db", "--from", data, "--to", target, "--password-file", passwordFile, "--verify-only")
		if !strings.Contains(out, "does NOT match") || !strings.Contains(out, "table messages") {
			t.Errorf("verify-only after a ciphertext changed: %s", out)
		}
	})
}

// staffReplies stores a staff reply in every case of the SQLite
// installation in data, with its server stopped, and returns their texts.
func staffReplies(t *testing.T, data, recipientsFile string) []string {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(recipientsFile)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := crypto.ParseRecipients(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(data, storage.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	type kase struct {
		id        int64
		recipient string
	}
	var cases []kase
	rows, err := raw.Query(`SELECT id, recipient FROM cases ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c kase
		if err := rows.Scan(&c.id, &c.recipient); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	rows.Close()
	raw.Close()
	db, err := storage.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var texts []string
	for i, c := range cases {
		text := "a staff reply, number " + string(rune('A'+i))
		to, err := rs.ForCase(c.recipient)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := crypto.SealMessage(crypto.Message{Text: text}, to)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddMessage(ctx, c.id, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: sealed}); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, text)
	}
	return texts
}

// decryptedFileHolds reports whether a decrypted attachment under plain
// is want.
func decryptedFileHolds(t *testing.T, plain string, want []byte) bool {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(plain, "*", "attachments", "*"))
	for _, p := range paths {
		if got, err := os.ReadFile(p); err == nil && bytes.Equal(got, want) {
			return true
		}
	}
	return false
}

// TestMigrateDBRefusesATargetWithData moves nothing into a PostgreSQL
// database that holds data, and leaves it as it was; `candour migrate`
// lists and applies the migrations of both engines.
func TestMigrateDBRefusesATargetWithData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	keepSQLite(t, data) // the installation to move
	candour(t, "admin", "create", "--data", data, "--username", "alice")
	cluster := pgtest.Start(t)

	// migrate on SQLite: everything applied.
	if out := candour(t, "migrate", "--data", data); !strings.Contains(out, "0025_wrapped_identity.sql") || !strings.Contains(out, "up to date") {
		t.Errorf("migrate on SQLite: %s", out)
	}
	// migrate on an empty PostgreSQL database: everything pending, then
	// applied by --apply; migrate-db takes such a database.
	fresh := cluster.NewDatabase(t)
	if out := candourEnv(t, []string{"CANDOUR_DATABASE=" + fresh}, "migrate"); !strings.Contains(out, "pending") || strings.Contains(out, "applied") {
		t.Errorf("migrate on an empty PostgreSQL database: %s", out)
	}
	if out := candourEnv(t, []string{"CANDOUR_DATABASE=" + fresh}, "migrate", "--apply"); !regexp.MustCompile(`Applied [1-9][0-9]* migrations`).MatchString(out) {
		t.Errorf("migrate --apply: %s", out)
	}
	if out := candourEnv(t, []string{"CANDOUR_DATABASE=" + fresh}, "migrate"); !strings.Contains(out, "up to date") || strings.Contains(out, "pending") {
		t.Errorf("migrate after --apply: %s", out)
	}
	if out := candourEnv(t, []string{"CANDOUR_DATABASE=" + fresh}, "migrate-db", "--from", data); !strings.Contains(out, "verified:") {
		t.Errorf("migrate-db into a migrated, empty database: %s", out)
	}

	used := cluster.NewDatabase(t)
	candour(t, "admin", "create", "--database", used, "--username", "bob")
	out := candourFails(t, nil, "migrate-db", "--from", data, "--to", used)
	if !strings.Contains(out, "already holds data") {
		t.Errorf("migrate-db into a database with data: %s", out)
	}
	// Unchanged: bob alone, and one audit entry (his invitation).
	if out := candour(t, "audit", "verify", "--database", used); !strings.Contains(out, "intact: 1 entries") {
		t.Errorf("the refused target's audit trail: %s", out)
	}
	raw, err := sql.Open("pgx", used)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var names string
	if err := raw.QueryRow(`SELECT string_agg(username, ',') FROM staff`).Scan(&names); err != nil || names != "bob" {
		t.Errorf("the refused target's staff: %q, %v", names, err)
	}
	// Not a PostgreSQL URL: refused before anything is opened.
	cmd := exec.Command(candourBin, "migrate-db", "--from", data, "--to", filepath.Join(dir, "other"))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "postgres://") {
		t.Errorf("migrate-db to a folder: %v %s", err, out)
	}
}
