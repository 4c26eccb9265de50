package storage_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// migrationSource is a SQLite installation filled through storage's own
// API, with what a move must carry: cases with attachments in the chunk
// file (one of several chunks), an attachment kept in candour.db's
// attachment_chunks as before migration 0023, a follow-up, a note, staff
// and their session, an audit trail, and a pending upload that must not
// move.
type migrationSource struct {
	dir         string
	cases       []storage.Case
	attachments map[int64][]byte // linked attachments by id
	pending     int64
	staffID     int64
}

func newMigrationSource(t *testing.T) migrationSource {
	t.Helper()
	ctx := context.Background()
	src := migrationSource{dir: t.TempDir(), attachments: map[int64][]byte{}}
	db, err := storage.Open(src.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	big := pattern(2*storage.ChunkSize+12345, 1)
	small := pattern(1000, 2)
	a1 := mustWriteAttachment(t, db, big)
	a2 := mustWriteAttachment(t, db, small)
	src.attachments[a1], src.attachments[a2] = big, small
	src.cases = append(src.cases, mustCreateCase(t, db, "one", a1), mustCreateCase(t, db, "two", a2), mustCreateCase(t, db, "three"))
	if _, err := db.AddMessage(ctx, src.cases[0].ID, storage.NewMessage{Author: "reporter", Ciphertext: fakeAge("follow-up")}); err != nil {
		t.Fatal(err)
	}
	st, err := db.CreateStaff(ctx, "alice", storage.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	src.staffID = st.ID
	if _, err := db.AddNote(ctx, src.cases[1].ID, st.ID, fakeAge("a note")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateStaffSession(ctx, storage.StaffSession{TokenHash: bytes.Repeat([]byte{7}, 32), StaffID: st.ID, CSRF: "csrf"}); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"staff.invited", "case.read", "export"} {
		if _, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: storage.ActorCLI, Action: action}); err != nil {
			t.Fatal(err)
		}
	}
	src.pending = mustWriteAttachment(t, db, pattern(500, 3))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// An attachment as releases before 0023 kept it: chunks in candour.db.
	raw, err := sql.Open("sqlite3", filepath.Join(src.dir, storage.FileName)+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var msgID int64
	if err := raw.QueryRow(`SELECT id FROM messages WHERE case_id = ? AND seq = 1`, src.cases[2].ID).Scan(&msgID); err != nil {
		t.Fatal(err)
	}
	legacy := append(pattern(300, 4), pattern(200, 5)...)
	const legacyID = 4242
	if _, err := raw.Exec(`INSERT INTO attachments (id, message_id, size, chunks, chunks_apart) VALUES (?, ?, ?, 2, 0)`, legacyID, msgID, len(legacy)); err != nil {
		t.Fatal(err)
	}
	for seq, part := range [][]byte{legacy[:300], legacy[300:]} {
		if _, err := raw.Exec(`INSERT INTO attachment_chunks (id, attachment_id, seq, data) VALUES (?, ?, ?, ?)`, 9000+seq, legacyID, seq, part); err != nil {
			t.Fatal(err)
		}
	}
	src.attachments[legacyID] = legacy
	return src
}

// rawPostgres opens the PostgreSQL database dsn directly, bypassing the
// storage package, as someone with write access to it could.
func rawPostgres(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// TestMigrateToPostgresCopiesAndVerifies moves a SQLite installation into
// a fresh PostgreSQL database and reads it back through the PostgreSQL
// engine: every case, message, note and linked attachment (from the chunk
// file and from candour.db alike) is there byte for byte, the pending
// upload and the staff session are not, the audit trail verifies, and
// rows inserted afterwards get ids past the copied ones.
func TestMigrateToPostgresCopiesAndVerifies(t *testing.T) {
	ctx := context.Background()
	src := newMigrationSource(t)
	dsn := pgtest.Start(t).NewDatabase(t)

	sum, err := storage.MigrateToPostgres(ctx, src.dir, dsn)
	if err != nil {
		t.Fatalf("MigrateToPostgres: %v", err)
	}
	var wantBytes int64
	for _, data := range src.attachments {
		wantBytes += int64(len(data))
	}
	if sum.Attachments != int64(len(src.attachments)) || sum.AttachmentBytes != wantBytes {
		t.Errorf("summary: %d attachments, %d bytes; want %d, %d", sum.Attachments, sum.AttachmentBytes, len(src.attachments), wantBytes)
	}
	if sum.AuditEntries != 3 {
		t.Errorf("summary: %d audit entries, want 3", sum.AuditEntries)
	}
	// 4 messages, 1 note, 3 wrapped case identities at least.
	if sum.Ciphertexts < 8 {
		t.Errorf("summary: %d ciphertexts, want at least 8", sum.Ciphertexts)
	}
	rows := map[string]int64{}
	for _, tr := range sum.Tables {
		rows[tr.Name] = tr.Rows
	}
	if rows["cases"] != 3 || rows["messages"] != 4 || rows["attachments"] != 3 || rows["attachment_chunks"] != 3+1+2 || rows["notes"] != 1 {
		t.Errorf("summary rows: %v", rows)
	}
	if _, ok := rows["staff_sessions"]; ok {
		t.Errorf("staff_sessions was copied: %v", rows)
	}

	db, err := storage.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, want := range src.attachments {
		if _, got := mustReadAttachment(t, db, id); !bytes.Equal(got, want) {
			t.Errorf("attachment %d on PostgreSQL: %d bytes, not what SQLite held (%d)", id, len(got), len(want))
		}
	}
	if _, _, err := db.Attachment(ctx, src.pending); err == nil {
		t.Errorf("the pending upload %d was moved", src.pending)
	}
	for _, c := range src.cases {
		got, err := db.Case(ctx, c.ID)
		if err != nil {
			t.Fatalf("case %d on PostgreSQL: %v", c.ID, err)
		}
		checkCase(t, "the moved case", got, c)
	}
	msgs, err := db.Messages(ctx, src.cases[0].ID)
	if err != nil || len(msgs) != 2 || !bytes.Equal(msgs[1].Ciphertext, fakeAge("follow-up")) {
		t.Errorf("the follow-up on PostgreSQL: %d messages, %v", len(msgs), err)
	}
	if err := db.VerifyAudit(ctx); err != nil {
		t.Errorf("VerifyAudit on PostgreSQL: %v", err)
	}
	var sessions int
	if err := rawPostgres(t, dsn).QueryRow(`SELECT count(*) FROM staff_sessions`).Scan(&sessions); err != nil || sessions != 0 {
		t.Errorf("staff sessions on PostgreSQL: %d, %v", sessions, err)
	}
	// Identities continue past the copied ids: a new staff member does not
	// collide with alice, and the audit trail goes on from its head.
	bob, err := db.CreateStaff(ctx, "bob", storage.RoleCaseworker)
	if err != nil || bob.ID <= src.staffID {
		t.Errorf("CreateStaff after the move: id %d (alice has %d), %v", bob.ID, src.staffID, err)
	}
	if _, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: storage.ActorCLI, Action: "after"}); err != nil {
		t.Fatal(err)
	}
	if err := db.VerifyAudit(ctx); err != nil {
		t.Errorf("VerifyAudit after a new entry: %v", err)
	}
}

// TestMigrateToPostgresRefusesATargetWithData checks that a database that
// holds data is refused and left as it was, and that one migrated but
// empty is taken.
func TestMigrateToPostgresRefusesATargetWithData(t *testing.T) {
	ctx := context.Background()
	src := newMigrationSource(t)
	cluster := pgtest.Start(t)

	migrated := cluster.NewDatabase(t)
	if _, err := storage.ApplyPostgresMigrations(ctx, migrated); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.MigrateToPostgres(ctx, src.dir, migrated); err != nil {
		t.Fatalf("a migrated, empty database was refused: %v", err)
	}

	used := cluster.NewDatabase(t)
	db, err := storage.OpenPostgres(used)
	if err != nil {
		t.Fatal(err)
	}
	mustCreateCase(t, db, "already here")
	db.Close()
	_, err = storage.MigrateToPostgres(ctx, src.dir, used)
	if !errors.Is(err, storage.ErrTargetNotEmpty) {
		t.Fatalf("MigrateToPostgres into a database with a case: %v, want ErrTargetNotEmpty", err)
	}
	raw := rawPostgres(t, used)
	var cases, attachments int
	if err := raw.QueryRow(`SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM attachments)`).Scan(&cases, &attachments); err != nil {
		t.Fatal(err)
	}
	if cases != 1 || attachments != 0 {
		t.Errorf("the refused target changed: %d cases, %d attachments; want 1, 0", cases, attachments)
	}
	// A second move into the database already moved to is refused too.
	if _, err := storage.MigrateToPostgres(ctx, src.dir, migrated); !errors.Is(err, storage.ErrTargetNotEmpty) {
		t.Errorf("a second move into the same database: %v, want ErrTargetNotEmpty", err)
	}
}

// TestVerifyMigrationFindsTampering changes one ciphertext, then one
// attachment chunk, on the target after a move: each makes the
// verification fail, naming what differs.
func TestVerifyMigrationFindsTampering(t *testing.T) {
	ctx := context.Background()
	src := newMigrationSource(t)
	dsn := pgtest.Start(t).NewDatabase(t)
	if _, err := storage.MigrateToPostgres(ctx, src.dir, dsn); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.VerifyMigration(ctx, src.dir, dsn); err != nil {
		t.Fatalf("VerifyMigration of an untouched copy: %v", err)
	}
	raw := rawPostgres(t, dsn)
	for _, tc := range []struct {
		name, tamper, undo, want string
	}{
		{"a message's ciphertext",
			`UPDATE messages SET ciphertext = ciphertext || '\x00'::bytea WHERE case_id = ` + strconv.FormatInt(src.cases[1].ID, 10),
			`UPDATE messages SET ciphertext = substring(ciphertext from 1 for length(ciphertext) - 1) WHERE case_id = ` + strconv.FormatInt(src.cases[1].ID, 10),
			"table messages"},
		{"a note's ciphertext",
			`UPDATE notes SET ciphertext = overlay(ciphertext placing '\xff'::bytea from 1 for 1)`,
			`UPDATE notes SET ciphertext = overlay(ciphertext placing '\x61'::bytea from 1 for 1)`,
			"table notes"},
		{"a row of a table keyed by text",
			`UPDATE channel_texts SET name = name || '!'`,
			`UPDATE channel_texts SET name = substring(name from 1 for length(name) - 1)`,
			"table channel_texts: the row"},
		{"an attachment's chunk",
			`UPDATE attachment_chunks SET data = overlay(data placing '\x0000'::bytea from 100 for 2) WHERE attachment_id = 4242 AND seq = 1`,
			``,
			"attachment 4242 differs"},
		{"a deleted row",
			`DELETE FROM notes`,
			``,
			"table notes: the row"},
	} {
		if _, err := raw.Exec(tc.tamper); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err := storage.VerifyMigration(ctx, src.dir, dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("VerifyMigration after tampering with %s: %v, want %q", tc.name, err, tc.want)
		}
		if tc.undo != "" {
			if _, err := raw.Exec(tc.undo); err != nil {
				t.Fatal(err)
			}
			if _, err := storage.VerifyMigration(ctx, src.dir, dsn); err != nil {
				t.Errorf("VerifyMigration after undoing %s: %v", tc.name, err)
			}
		}
	}
}

// TestMigrationsListAndApply checks `candour migrate`'s storage side on
// both engines: a new database has every migration pending, and after an
// apply (or a start) every one applied, at the newest version.
func TestMigrationsListAndApply(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := storage.SQLiteMigrations(ctx, dir)
	if err != nil || st.Exists || st.Pending() != len(st.Migrations) || len(st.Migrations) < 25 {
		t.Fatalf("SQLite, no database: %+v, %v", st, err)
	}
	if _, err := storage.ApplySQLiteMigrations(ctx, dir); err == nil {
		t.Errorf("ApplySQLiteMigrations made a database where there was none")
	}
	db, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err = storage.SQLiteMigrations(ctx, dir)
	if err != nil || !st.Exists || st.Pending() != 0 || st.Current != st.Migrations[len(st.Migrations)-1].Version {
		t.Errorf("SQLite after Open: %+v, %v", st, err)
	}
	if st, err = storage.ApplySQLiteMigrations(ctx, dir); err != nil || st.Pending() != 0 {
		t.Errorf("ApplySQLiteMigrations on an up-to-date database: %+v, %v", st, err)
	}

	// A database of a release that ended at 0024: 0025 pending, then
	// applied, with its rows kept.
	old := t.TempDir()
	raw := migratedTo(t, old, 24)
	if _, err := raw.Exec(`PRAGMA user_version = 24`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('carol', 'admin', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	st, err = storage.SQLiteMigrations(ctx, old)
	if err != nil || st.Current != 24 || st.Pending() != len(st.Migrations)-24 || st.Migrations[len(st.Migrations)-1].Applied {
		t.Fatalf("SQLite at 0024: %+v, %v", st, err)
	}
	if _, err := storage.OpenTool(old); err == nil {
		t.Fatalf("listing migrations migrated the database")
	}
	if st, err = storage.ApplySQLiteMigrations(ctx, old); err != nil || st.Pending() != 0 || st.Current != st.Migrations[len(st.Migrations)-1].Version {
		t.Fatalf("ApplySQLiteMigrations at 0024: %+v, %v", st, err)
	}
	tool, err := storage.OpenTool(old)
	if err != nil {
		t.Fatalf("a tool refuses the applied schema: %v", err)
	}
	if _, err := tool.StaffByUsername(ctx, "carol"); err != nil {
		t.Errorf("carol after the migration: %v", err)
	}
	tool.Close()

	dsn := pgtest.Start(t).NewDatabase(t)
	st, err = storage.PostgresMigrations(ctx, dsn)
	if err != nil || st.Exists || st.Pending() != len(st.Migrations) || st.Migrations[0].Name != "0001_schema.sql" {
		t.Fatalf("PostgreSQL, empty: %+v, %v", st, err)
	}
	if _, err := storage.OpenPostgresTool(dsn); !errors.Is(err, storage.ErrNoDatabase) {
		t.Fatalf("listing migrations made a schema: %v", err)
	}
	st, err = storage.ApplyPostgresMigrations(ctx, dsn)
	if err != nil || !st.Exists || st.Pending() != 0 || st.Current != st.Migrations[len(st.Migrations)-1].Version {
		t.Errorf("PostgreSQL after apply: %+v, %v", st, err)
	}
	tool, err = storage.OpenPostgresTool(dsn)
	if err != nil {
		t.Fatalf("a tool refuses the applied schema: %v", err)
	}
	tool.Close()
}

// TestMigrateToPostgresAsksForAStartedBackup refuses a backup copied in as
// candour.db that no server has opened (rollback-journal mode), saying
// what to do, before it reaches for PostgreSQL.
func TestMigrateToPostgresAsksForAStartedBackup(t *testing.T) {
	ctx := context.Background()
	src := newMigrationSource(t)
	db, err := storage.OpenTool(src.dir)
	if err != nil {
		t.Fatal(err)
	}
	restored := t.TempDir()
	err = db.Backup(ctx, filepath.Join(restored, storage.FileName))
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = storage.MigrateToPostgres(ctx, restored, "postgres://nobody@127.0.0.1:1/none")
	if err == nil || !strings.Contains(err.Error(), "not WAL") || !strings.Contains(err.Error(), "candour serve") {
		t.Errorf("MigrateToPostgres from a restored backup: %v", err)
	}
}

// TestHoldDatabaseOpen is not a test: run by holdOpen as a process of its
// own, it opens the database in $CANDOUR_TEST_HOLD read-only, as a server
// beside the tool would have it, says so, and keeps it open until its
// standard input closes.
func TestHoldDatabaseOpen(t *testing.T) {
	dir := os.Getenv("CANDOUR_TEST_HOLD")
	if dir == "" {
		t.Skip("a helper process of holdOpen")
	}
	db, err := storage.OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, _, _, err := db.CountRows(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("open")
	io.Copy(io.Discard, os.Stdin)
}

// holdOpen has another process hold the database in dir open until the
// test ends, and returns once it does.
func holdOpen(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldDatabaseOpen$", "-test.v")
	cmd.Env = append(os.Environ(), "CANDOUR_TEST_HOLD="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == "open" {
			go io.Copy(io.Discard, stdout)
			return
		}
	}
	t.Fatalf("the helper process did not open the database: %v", sc.Err())
}

// TestMigrateRefusesAnInstallationInUse: while another process has the
// SQLite database open, migrate-db and an apply of migrations refuse it,
// before touching the target; once it has closed it, both go ahead.
func TestMigrateRefusesAnInstallationInUse(t *testing.T) {
	ctx := context.Background()
	src := newMigrationSource(t)
	dsn := pgtest.Start(t).NewDatabase(t)
	t.Run("in use", func(t *testing.T) {
		holdOpen(t, src.dir)
		if _, err := storage.MigrateToPostgres(ctx, src.dir, dsn); !errors.Is(err, storage.ErrInUse) {
			t.Errorf("MigrateToPostgres beside another process: %v, want ErrInUse", err)
		}
		if _, err := storage.ApplySQLiteMigrations(ctx, src.dir); !errors.Is(err, storage.ErrInUse) {
			t.Errorf("ApplySQLiteMigrations beside another process: %v, want ErrInUse", err)
		}
		if st, err := storage.PostgresMigrations(ctx, dsn); err != nil || st.Exists {
			t.Errorf("the refused move touched the target: %+v, %v", st, err)
		}
	})
	// The helper has exited (the subtest's clean-up waited for it).
	if _, err := storage.ApplySQLiteMigrations(ctx, src.dir); err != nil {
		t.Errorf("ApplySQLiteMigrations once closed: %v", err)
	}
	if _, err := storage.MigrateToPostgres(ctx, src.dir, dsn); err != nil {
		t.Errorf("MigrateToPostgres once closed: %v", err)
	}
}
