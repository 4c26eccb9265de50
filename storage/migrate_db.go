package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// MigrateToPostgres moves a SQLite installation (a data folder) into a
// PostgreSQL database: `candour migrate-db`. It is generic over the
// schema: the tables and their columns are read from the SQLite database
// (backupTables, as a backup of PostgreSQL reads them), so a table added
// by a later migration moves with the rest, provided its PostgreSQL twin
// exists. What it does, in order:
//
//  1. Refuses while the SQLite installation is in use (sqliteInUse): a
//     server writing during the copy would lose what it writes.
//  2. Opens the source read-only (OpenReadOnly: its schema must be this
//     build's) and checks that its audit trail verifies: the trail is
//     evidence, and a broken one is for an operator to look into, not to
//     carry over unnoticed.
//  3. Migrates the target (a fresh database gets the schema), and in ONE
//     PostgreSQL transaction, which first takes the servers' write lock:
//     refuses a target that holds rows beyond what its migrations put
//     there; deletes those seed rows; copies every table but
//     migrateSkipTables from one read snapshot of the source, without
//     pending attachments (uploads that never finished, which Open would
//     delete anyway); copies the chunks of the attachments kept in the
//     chunk file (chunks.go) into attachment_chunks, as PostgreSQL keeps
//     all of them; moves every identity sequence past the copied ids; and
//     verifies the copy by reading it back (verifyCopy). Only then, and
//     only if the source is still not in use, it commits. Any failure
//     rolls everything back: the target is left as it was (but for the
//     migrations of a fresh one).
//  4. After the commit, verifies once more from a new connection and
//     snapshot, and verifies the audit trail's hash chain on PostgreSQL
//     (VerifyMigration).
func MigrateToPostgres(ctx context.Context, dataDir, dsn string) (MigrateSummary, error) {
	if err := checkNotInUse(dataDir); err != nil {
		return MigrateSummary{}, err
	}
	if err := checkWAL(dataDir); err != nil {
		return MigrateSummary{}, err
	}
	src, err := OpenReadOnly(dataDir)
	if err != nil {
		return MigrateSummary{}, err
	}
	srcOpen := true
	defer func() {
		if srcOpen {
			src.Close()
		}
	}()
	if err := src.VerifyAudit(ctx); err != nil {
		return MigrateSummary{}, fmt.Errorf("the SQLite installation's audit trail does not verify, so it is not moved (run `candour audit verify`): %w", err)
	}
	if err := src.IntegrityCheck(ctx); err != nil {
		return MigrateSummary{}, fmt.Errorf("the SQLite installation failed its integrity check: %w", err)
	}
	p, err := openPostgres(dsn, 1, nil)
	if err != nil {
		return MigrateSummary{}, err
	}
	defer p.Close()
	if err := p.PingContext(ctx); err != nil {
		return MigrateSummary{}, fmt.Errorf("failed to reach the PostgreSQL database: %w", redactDSN(err, dsn))
	}
	if err := (&DB{pg: true, w: p}).migratePostgres(ctx); err != nil {
		return MigrateSummary{}, err
	}

	snap, err := src.beginSnapshot(ctx)
	if err != nil {
		return MigrateSummary{}, fmt.Errorf("failed to read the SQLite installation: %w", err)
	}
	defer snap.Rollback()
	tables, err := backupTables(ctx, src.r)
	if err != nil {
		return MigrateSummary{}, err
	}
	tx, err := p.BeginTx(ctx, nil)
	if err != nil {
		return MigrateSummary{}, fmt.Errorf("failed to begin the copy: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, writeLockKey); err != nil {
		return MigrateSummary{}, fmt.Errorf("failed to take the write lock: %w", err)
	}
	if err := checkPgTables(ctx, tx, tables); err != nil {
		return MigrateSummary{}, err
	}
	types, err := pgColumnTypes(ctx, tx, tables)
	if err != nil {
		return MigrateSummary{}, err
	}
	if err := checkTargetEmpty(ctx, tx, tables); err != nil {
		return MigrateSummary{}, err
	}
	// The migrations' seed rows go, children first so that nothing
	// cascades; the audit head, which cannot be deleted, is overwritten by
	// the copy (copyMigratedTable).
	for i := len(tables) - 1; i >= 0; i-- {
		if tables[i].name == "audit_head" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM "`+tables[i].name+`"`); err != nil {
			return MigrateSummary{}, fmt.Errorf("failed to empty %s: %w", tables[i].name, err)
		}
	}
	for _, t := range tables {
		if _, skip := migrateSkipTables[t.name]; skip {
			continue
		}
		if err := copyMigratedTable(ctx, snap, tx, t, types[t.name]); err != nil {
			return MigrateSummary{}, err
		}
	}
	if err := copyApartChunks(ctx, src, snap, tx); err != nil {
		return MigrateSummary{}, err
	}
	if err := resetIdentities(ctx, tx); err != nil {
		return MigrateSummary{}, err
	}
	sum, err := verifyCopy(ctx, src, snap, tx, tables, types)
	if err != nil {
		return sum, fmt.Errorf("the copy did not verify, so nothing was committed: %w", err)
	}
	if err := snap.Rollback(); err != nil {
		return sum, err
	}
	srcOpen = false
	if err := src.Close(); err != nil {
		return sum, err
	}
	// Checked again with the source closed (see sqliteInUse): a server
	// that started on it meanwhile may have taken what the copy lacks.
	if err := checkNotInUse(dataDir); err != nil {
		return sum, fmt.Errorf("%w; nothing was committed", err)
	}
	if err := tx.Commit(); err != nil {
		return sum, fmt.Errorf("failed to commit the copy: %w", err)
	}
	return VerifyMigration(ctx, dataDir, dsn)
}

// VerifyMigration compares the SQLite installation in dataDir with the
// PostgreSQL database named by dsn as verifyCopy does, each from one
// snapshot, and verifies the audit trail's hash chain on PostgreSQL.
// `candour migrate-db` runs it after its commit, and on its own with
// --verify-only.
func VerifyMigration(ctx context.Context, dataDir, dsn string) (MigrateSummary, error) {
	src, err := OpenReadOnly(dataDir)
	if err != nil {
		return MigrateSummary{}, err
	}
	defer src.Close()
	dst, err := OpenPostgresReadOnly(dsn)
	if err != nil {
		return MigrateSummary{}, err
	}
	defer dst.Close()
	tables, err := backupTables(ctx, src.r)
	if err != nil {
		return MigrateSummary{}, err
	}
	snap, err := src.beginSnapshot(ctx)
	if err != nil {
		return MigrateSummary{}, fmt.Errorf("failed to read the SQLite installation: %w", err)
	}
	defer snap.Rollback()
	dtx, err := dst.beginSnapshot(ctx)
	if err != nil {
		return MigrateSummary{}, fmt.Errorf("failed to read the PostgreSQL database: %w", err)
	}
	defer dtx.Rollback()
	if err := checkPgTables(ctx, dtx, tables); err != nil {
		return MigrateSummary{}, err
	}
	types, err := pgColumnTypes(ctx, dtx, tables)
	if err != nil {
		return MigrateSummary{}, err
	}
	sum, err := verifyCopy(ctx, src, snap, dtx, tables, types)
	if err != nil {
		return sum, err
	}
	if err := dst.VerifyAudit(ctx); err != nil {
		return sum, fmt.Errorf("the audit trail does not verify on PostgreSQL: %w", err)
	}
	return sum, nil
}

// migrateSkipTables are the tables that MigrateToPostgres leaves behind,
// each with the reason: transient state that a stop of the service (which
// the move needs) ends anyway. Every other table moves.
var migrateSkipTables = map[string]string{
	"staff_sessions":      "staff sessions: staff log in again on PostgreSQL, so no live session credential is carried over",
	"webauthn_ceremonies": "passkey ceremonies in progress, which expire within minutes",
}

// MigrateSummary is what MigrateToPostgres copied and verified.
type MigrateSummary struct {
	// Tables are the copied tables with their rows on both sides, in
	// copy order.
	Tables []TableRows
	// Skipped are migrateSkipTables' reasons, by table.
	Skipped map[string]string
	// Attachments is the number of attachments whose whole ciphertext
	// stream was hashed on both sides, and AttachmentBytes its sum.
	Attachments     int64
	AttachmentBytes int64
	// Ciphertexts is the number of other ciphertexts (reports, messages,
	// replies, notes, summaries, wrapped keys) whose SHA-256 matched.
	Ciphertexts int64
	// AuditEntries is the length of the audit trail.
	AuditEntries int64
}

// TableRows is a table and its number of rows.
type TableRows struct {
	Name string
	Rows int64
}

// ErrInUse is returned (wrapped) when the SQLite installation is open in
// another process.
var ErrInUse = errors.New("the SQLite installation is in use")

// ErrTargetNotEmpty is returned (wrapped) when the PostgreSQL database
// already holds data.
var ErrTargetNotEmpty = errors.New("the PostgreSQL database already holds data")

// checkNotInUse refuses a data folder whose database or chunk file is open
// in another process.
func checkNotInUse(dataDir string) error {
	for _, name := range []string{FileName, ChunksFileName} {
		inUse, err := sqliteInUse(filepath.Join(dataDir, name))
		if err != nil {
			return err
		}
		if inUse {
			return fmt.Errorf("%w: another process (a running `candour serve`?) has %s open: stop it first", ErrInUse, name)
		}
	}
	return nil
}

// sqliteInUse reports whether another process has the SQLite database at
// path open. Candour's databases are in WAL mode, where every connection
// holds a shared lock on one byte of the -shm file (SQLite's "DMS" slot,
// at offset 128 in its unix VFS) for as long as it is open, idle or not:
// a lock that another process holds there means the database is open.
// Locks of this process are not seen (POSIX locks are per process), so it
// is asked with the source closed. Without a -shm file, nothing has it
// open in WAL mode.
//
// It is a check, not a lock that keeps a server from starting after it:
// MigrateToPostgres asks before it opens the source and again before it
// commits, which catches a server that is running at either moment.
func sqliteInUse(path string) (bool, error) {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to check whether %s is in use: %w", filepath.Base(path), err)
	}
	// Closing f drops every lock this process holds on the file: none, as
	// the source is closed whenever this runs.
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 128, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, fmt.Errorf("failed to check whether %s is in use: %w", filepath.Base(path), err)
	}
	return lk.Type != syscall.F_UNLCK, nil
}

// checkWAL refuses a database that is not in WAL mode, such as a backup
// copied in as candour.db that no server has opened yet: it cannot be read
// through the read-only pools (which ask for WAL mode), and the check of
// sqliteInUse relies on WAL mode.
func checkWAL(dataDir string) error {
	path := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database in %s: %w", dataDir, err)
	}
	d, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer d.Close()
	var mode string
	if err := d.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("failed to open the database: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("%s is in %s journal mode, not WAL (a restored backup?): start `candour serve --data %s` once, stop it, then run migrate-db again", FileName, mode, dataDir)
	}
	return nil
}

// pgColumnTypes returns, for each table, its columns' PostgreSQL types
// (information_schema's data_type: bigint, integer, bytea, text, …).
func pgColumnTypes(ctx context.Context, q querier, tables []backupTable) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, t := range tables {
		rows, err := q.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ?`, t.name)
		if err != nil {
			return nil, fmt.Errorf("failed to read the columns of %s: %w", t.name, err)
		}
		cols := map[string]string{}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			cols[c] = typ
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
		for _, c := range t.columns {
			if _, ok := cols[c]; !ok {
				return nil, fmt.Errorf("the PostgreSQL database has no column %s.%s: its schema is not this build's", t.name, c)
			}
		}
		out[t.name] = cols
	}
	return out, nil
}

// checkTargetEmpty refuses a target any of whose tables holds more rows
// than the same table of a freshly migrated database (the migrations'
// seed rows: the first channel, the outcomes, …), or whose audit trail
// has an entry.
func checkTargetEmpty(ctx context.Context, tx *sql.Tx, tables []backupTable) error {
	fresh, err := sql.Open("sqlite3", "file::memory:?_foreign_keys=on")
	if err != nil {
		return err
	}
	defer fresh.Close()
	fresh.SetMaxOpenConns(1) // :memory: is one database per connection
	if err := (&DB{w: fresh}).migrate(); err != nil {
		return fmt.Errorf("failed to make a fresh schema to compare with: %w", err)
	}
	for _, t := range tables {
		var seeded, have int64
		if err := fresh.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&seeded); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&have); err != nil {
			return fmt.Errorf("failed to count the rows of %s: %w", t.name, err)
		}
		if have > seeded {
			return fmt.Errorf("%w (table %s has %d rows): migrate-db moves an installation only into an empty database", ErrTargetNotEmpty, t.name, have)
		}
	}
	var entries int64
	if err := tx.QueryRowContext(ctx, `SELECT count FROM audit_head WHERE id = 1`).Scan(&entries); err != nil {
		return fmt.Errorf("failed to read the audit head: %w", err)
	}
	if entries != 0 {
		return fmt.Errorf("%w (its audit trail has %d entries): migrate-db moves an installation only into an empty database", ErrTargetNotEmpty, entries)
	}
	return nil
}

// pgValue converts v, read from SQLite, to what PostgreSQL's column of
// type typ takes, and makes values read from either engine compare equal
// (integers as int64, BYTEA as []byte, TEXT as string).
func pgValue(v any, typ string) any {
	switch x := v.(type) {
	case string:
		if typ == "bytea" {
			return []byte(x)
		}
	case []byte:
		if typ == "text" {
			return string(x)
		}
		return x
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int:
		return int64(x)
	}
	return v
}

// copyMigratedTable copies table t's rows from src (the SQLite snapshot)
// into tx (PostgreSQL), one row in memory at a time, leaving out what
// pgBackupFilters leaves out of a backup (pending attachments and their
// chunks) for the same reason.
func copyMigratedTable(ctx context.Context, src, tx *sql.Tx, t backupTable, types map[string]string) error {
	return copyRows(ctx, src, tx, t, pgBackupFilters[t.name], func(v any, column string) any { return pgValue(v, types[column]) })
}

// apartAttachments lists the linked attachments of the snapshot whose
// chunks are in the chunk file.
func apartAttachments(ctx context.Context, snap *sql.Tx) ([]AttachmentInfo, error) {
	rows, err := snap.QueryContext(ctx, `SELECT id, chunks FROM attachments WHERE chunks_apart = 1 AND message_id IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("failed to list attachments: %w", err)
	}
	defer rows.Close()
	var out []AttachmentInfo
	for rows.Next() {
		var a AttachmentInfo
		if err := rows.Scan(&a.ID, &a.Chunks); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// copyApartChunks copies into tx's attachment_chunks the chunks of every
// attachment that the source keeps in its chunk file, one chunk in memory
// at a time, and marks those attachments as keeping their chunks in
// attachment_chunks, as every attachment does on PostgreSQL.
func copyApartChunks(ctx context.Context, src *DB, snap, tx *sql.Tx) error {
	apart, err := apartAttachments(ctx, snap)
	if err != nil {
		return err
	}
	if len(apart) > 0 && src.cr == nil {
		return fmt.Errorf("the installation keeps attachments in %s, which is missing", ChunksFileName)
	}
	var data []byte
	for _, a := range apart {
		for seq := range a.Chunks {
			if err := src.cr.QueryRowContext(ctx, chunkQuery, a.ID, seq).Scan(&data); err != nil {
				return fmt.Errorf("failed to read chunk %d of attachment %d: %w", seq, a.ID, err)
			}
			if _, err := insertRandomID(ctx, tx,
				`INSERT INTO attachment_chunks (id, attachment_id, seq, data) VALUES (?, ?, ?, ?)`, a.ID, seq, data); err != nil {
				return fmt.Errorf("failed to copy chunk %d of attachment %d: %w", seq, a.ID, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE attachments SET chunks_apart = 0 WHERE chunks_apart <> 0`); err != nil {
		return fmt.Errorf("failed to mark the attachments as kept in the database: %w", err)
	}
	return nil
}

// resetIdentities moves every identity column's sequence past the
// largest id copied into it, so that the next row the service inserts
// without an id does not collide with a copied one.
func resetIdentities(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`)
	if err != nil {
		return fmt.Errorf("failed to list the identity columns: %w", err)
	}
	type col struct{ table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, c)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, c := range cols {
		// An empty table's sequence starts again at 1 (is_called false).
		q := `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(max("` + c.column + `"), 1), max("` + c.column + `") IS NOT NULL) FROM "` + c.table + `"`
		if _, err := tx.ExecContext(ctx, q, `"`+c.table+`"`, c.column); err != nil {
			return fmt.Errorf("failed to reset the identity of %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// ciphertextColumns are the columns that hold age ciphertext, counted in
// MigrateSummary.Ciphertexts. Every column of every copied row is compared
// anyway (rowDigests).
var ciphertextColumns = map[string]bool{"ciphertext": true, "summary": true, "wrapped": true, "wrapped_identity": true}

// verifyCopy compares the source (its snapshot snap, and its chunk file)
// with the target dst, reading both afresh:
//
//   - every copied table has the same rows on both sides: the same number,
//     and for each primary key the same SHA-256 over all its values, with
//     BYTEA values (ciphertexts among them) taken as their own SHA-256 and
//     length. attachments.chunks_apart is left out: it is 0 on PostgreSQL
//     for every attachment. attachment_chunks is compared as streams:
//   - every linked attachment's whole ciphertext, its chunks in order,
//     has the same SHA-256 and the same number of chunks on both sides,
//     and the target holds no chunk besides;
//   - no attachment of the target keeps its chunks apart.
func verifyCopy(ctx context.Context, src *DB, snap *sql.Tx, dst querier, tables []backupTable, types map[string]map[string]string) (MigrateSummary, error) {
	sum := MigrateSummary{Skipped: migrateSkipTables}
	for _, t := range tables {
		if _, skip := migrateSkipTables[t.name]; skip || t.name == "attachment_chunks" {
			continue
		}
		cols := t.columns
		if t.name == "attachments" {
			cols = without(cols, "chunks_apart")
		}
		keys, err := queryStrings(ctx, snap, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, t.name)
		if err != nil {
			return sum, fmt.Errorf("failed to read the primary key of %s: %w", t.name, err)
		}
		if len(keys) == 0 {
			keys = cols
		}
		n, nc, err := compareTable(ctx, snap, dst, t, cols, keys, types[t.name])
		if err != nil {
			return sum, err
		}
		sum.Tables = append(sum.Tables, TableRows{Name: t.name, Rows: n})
		sum.Ciphertexts += nc
		if t.name == "audit_log" {
			sum.AuditEntries = n
		}
	}
	var apart int64
	if err := dst.QueryRowContext(ctx, `SELECT count(*) FROM attachments WHERE chunks_apart <> 0`).Scan(&apart); err != nil {
		return sum, err
	}
	if apart != 0 {
		return sum, fmt.Errorf("%d attachments on PostgreSQL are marked as kept in a chunk file", apart)
	}
	chunks, err := verifyAttachments(ctx, src, snap, dst, &sum)
	if err != nil {
		return sum, err
	}
	var have int64
	if err := dst.QueryRowContext(ctx, `SELECT count(*) FROM attachment_chunks`).Scan(&have); err != nil {
		return sum, err
	}
	if have != chunks {
		return sum, fmt.Errorf("table attachment_chunks has %d rows on PostgreSQL, want %d (every chunk of every attachment)", have, chunks)
	}
	sum.Tables = append(sum.Tables, TableRows{Name: "attachment_chunks", Rows: have})
	return sum, nil
}

// verifyAttachments compares every linked attachment's ciphertext stream
// on both sides and returns the number of chunks on the source.
func verifyAttachments(ctx context.Context, src *DB, snap *sql.Tx, dst querier, sum *MigrateSummary) (int64, error) {
	rows, err := snap.QueryContext(ctx, `SELECT id, chunks, chunks_apart FROM attachments WHERE message_id IS NOT NULL ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("failed to list attachments: %w", err)
	}
	type att struct {
		id, chunks int64
		apart      bool
	}
	var atts []att
	for rows.Next() {
		var a att
		if err := rows.Scan(&a.id, &a.chunks, &a.apart); err != nil {
			rows.Close()
			return 0, err
		}
		atts = append(atts, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	var total int64
	for _, a := range atts {
		var want, got streamDigest
		var err error
		if a.apart {
			if src.cr == nil {
				return 0, fmt.Errorf("the installation keeps attachments in %s, which is missing", ChunksFileName)
			}
			want, err = streamOf(ctx, src.cr, `SELECT data FROM chunks WHERE attachment_id = ? ORDER BY seq`, a.id)
		} else {
			want, err = streamOf(ctx, snap, `SELECT data FROM attachment_chunks WHERE attachment_id = ? ORDER BY seq`, a.id)
		}
		if err != nil {
			return 0, fmt.Errorf("failed to read attachment %d from SQLite: %w", a.id, err)
		}
		if got, err = streamOf(ctx, dst, `SELECT data FROM attachment_chunks WHERE attachment_id = ? ORDER BY seq`, a.id); err != nil {
			return 0, fmt.Errorf("failed to read attachment %d from PostgreSQL: %w", a.id, err)
		}
		if want.chunks != a.chunks {
			return 0, fmt.Errorf("attachment %d has %d of its %d chunks on SQLite", a.id, want.chunks, a.chunks)
		}
		if got != want {
			return 0, fmt.Errorf("attachment %d differs between SQLite and PostgreSQL (%d chunks, %d bytes there; %d, %d here)",
				a.id, want.chunks, want.size, got.chunks, got.size)
		}
		total += want.chunks
		sum.Attachments++
		sum.AttachmentBytes += want.size
	}
	return total, nil
}

// streamDigest is an attachment's ciphertext stream: its chunks, bytes and
// SHA-256.
type streamDigest struct {
	chunks, size int64
	sum          [sha256.Size]byte
}

func streamOf(ctx context.Context, q querier, query string, id int64) (streamDigest, error) {
	var d streamDigest
	rows, err := q.QueryContext(ctx, query, id)
	if err != nil {
		return d, err
	}
	defer rows.Close()
	h := sha256.New()
	var data []byte
	for rows.Next() {
		if err := rows.Scan(&data); err != nil {
			return d, err
		}
		h.Write(data)
		d.chunks++
		d.size += int64(len(data))
	}
	if err := rows.Err(); err != nil {
		return d, err
	}
	h.Sum(d.sum[:0])
	return d, nil
}

// compareTable compares table t's rows (cols, without pending
// attachments) on SQLite (src) and PostgreSQL (dst), and returns their
// number and that of their non-NULL ciphertext values. Each row is
// reduced to its primary key (keys) and a SHA-256 over all its values
// (writeValue). A table whose key is all integers (every large one: cases,
// messages, attachments, the audit trail, …) is read in key order on both
// sides at once and compared row by row, in constant memory; the others
// (keyed by text or by a hash: settings, used forms, …) are compared
// through a map of one side's rows, as their order is the collation's.
func compareTable(ctx context.Context, src, dst querier, t backupTable, cols, keys []string, types map[string]string) (int64, int64, error) {
	ordered := true
	for _, k := range keys {
		ordered = ordered && (types[k] == "bigint" || types[k] == "integer")
	}
	if !ordered {
		want := map[string][sha256.Size]byte{}
		n, nc, err := digestRows(ctx, src, t, cols, keys, types, "", func(r digestRow) error {
			if _, dup := want[r.key]; dup {
				return fmt.Errorf("two rows of %s have the key %s", t.name, describeKey(r.key))
			}
			want[r.key] = r.sum
			return nil
		})
		if err != nil {
			return 0, 0, fmt.Errorf("failed to read %s from SQLite: %w", t.name, err)
		}
		var got int64
		_, _, err = digestRows(ctx, dst, t, cols, keys, types, "", func(r digestRow) error {
			got++
			d, ok := want[r.key]
			switch {
			case !ok:
				return fmt.Errorf("table %s: the row %s on PostgreSQL is not on SQLite", t.name, describeKey(r.key))
			case d != r.sum:
				return fmt.Errorf("table %s: the row %s differs between SQLite and PostgreSQL", t.name, describeKey(r.key))
			}
			delete(want, r.key)
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
		if len(want) > 0 {
			return 0, 0, fmt.Errorf("table %s has %d rows on PostgreSQL, %d on SQLite", t.name, got, n)
		}
		return n, nc, nil
	}
	order := ` ORDER BY "` + strings.Join(keys, `", "`) + `"`
	// SQLite's rows are pulled one at a time while PostgreSQL's are read.
	next, stop := iter.Pull2(func(yield func(digestRow, error) bool) {
		_, _, err := digestRows(ctx, src, t, cols, keys, types, order, func(r digestRow) error {
			if !yield(r, nil) {
				return errStopped
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopped) {
			yield(digestRow{}, fmt.Errorf("failed to read %s from SQLite: %w", t.name, err))
		}
	})
	defer stop()
	var n, nc int64
	_, _, err := digestRows(ctx, dst, t, cols, keys, types, order, func(got digestRow) error {
		want, err, ok := next()
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("table %s: the row %s on PostgreSQL is not on SQLite", t.name, describeKey(got.key))
		}
		switch {
		case want.key != got.key:
			return fmt.Errorf("table %s: the row %s of SQLite is not on PostgreSQL, or not alone there", t.name, describeKey(want.key))
		case want.sum != got.sum:
			return fmt.Errorf("table %s: the row %s differs between SQLite and PostgreSQL", t.name, describeKey(want.key))
		}
		n++
		nc += want.ciphertexts
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	want, err, ok := next()
	if err != nil {
		return 0, 0, err
	}
	if ok {
		return 0, 0, fmt.Errorf("table %s: the row %s of SQLite is not on PostgreSQL", t.name, describeKey(want.key))
	}
	return n, nc, nil
}

var errStopped = errors.New("stopped")

// digestRow is a row reduced to its key and SHA-256 (compareTable).
type digestRow struct {
	key         string
	sum         [sha256.Size]byte
	ciphertexts int64 // its non-NULL ciphertext values
}

// digestRows reads cols of t's rows, as copyMigratedTable does (without
// pending attachments), from q, in order if order is not empty, and calls
// fn with each. It returns the number of rows and of non-NULL ciphertext
// values.
func digestRows(ctx context.Context, q querier, t backupTable, cols, keys []string, types map[string]string, order string, fn func(digestRow) error) (int64, int64, error) {
	keyAt := make([]int, len(keys))
	for i, k := range keys {
		keyAt[i] = -1
		for j, c := range cols {
			if c == k {
				keyAt[i] = j
			}
		}
		if keyAt[i] < 0 {
			return 0, 0, fmt.Errorf("primary key column %s is not compared", k)
		}
	}
	list := `"` + strings.Join(cols, `", "`) + `"`
	rows, err := q.QueryContext(ctx, `SELECT `+list+` FROM "`+t.name+`"`+pgBackupFilters[t.name]+order)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n, nc int64
	var key bytes.Buffer
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, 0, err
		}
		var r digestRow
		h := sha256.New()
		for i, c := range cols {
			vals[i] = pgValue(vals[i], types[c])
			writeValue(h, vals[i])
			if ciphertextColumns[c] && vals[i] != nil {
				r.ciphertexts++
			}
		}
		key.Reset()
		for _, j := range keyAt {
			writeValue(&key, vals[j])
		}
		r.key = key.String()
		h.Sum(r.sum[:0])
		if err := fn(r); err != nil {
			return 0, 0, err
		}
		n++
		nc += r.ciphertexts
	}
	return n, nc, rows.Err()
}

// writeValue writes an unambiguous encoding of v (as pgValue returns it)
// to w: a kind byte, then the value. BYTEA values are written as their
// length and SHA-256.
func writeValue(w io.Writer, v any) {
	var n [8]byte
	switch x := v.(type) {
	case nil:
		w.Write([]byte{0})
	case int64:
		binary.BigEndian.PutUint64(n[:], uint64(x))
		w.Write([]byte{1})
		w.Write(n[:])
	case string:
		binary.BigEndian.PutUint64(n[:], uint64(len(x)))
		w.Write([]byte{2})
		w.Write(n[:])
		io.WriteString(w, x)
	case []byte:
		binary.BigEndian.PutUint64(n[:], uint64(len(x)))
		s := sha256.Sum256(x)
		w.Write([]byte{3})
		w.Write(n[:])
		w.Write(s[:])
	default:
		// No column of Candour's has another type; should one appear, its
		// values compare by their printed form.
		fmt.Fprintf(w, "\x04%T:%v\x00", x, x)
	}
}

// describeKey shows an encoded key for an error message: integer key
// values (ids) as they are; any other key value only by its kind, since it
// may be a token's hash.
func describeKey(k string) string {
	var parts []string
	b := []byte(k)
	for len(b) > 0 {
		switch b[0] {
		case 1:
			if len(b) < 9 {
				return "(a key)"
			}
			parts = append(parts, fmt.Sprint(int64(binary.BigEndian.Uint64(b[1:9]))))
			b = b[9:]
		case 2:
			if len(b) < 9 {
				return "(a key)"
			}
			n := int(binary.BigEndian.Uint64(b[1:9]))
			if len(b) < 9+n {
				return "(a key)"
			}
			parts = append(parts, "(text)")
			b = b[9+n:]
		case 3:
			parts = append(parts, "(bytes)")
			b = b[min(len(b), 41):]
		default:
			return "(a key)"
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func without(cols []string, drop string) []string {
	var out []string
	for _, c := range cols {
		if c != drop {
			out = append(out, c)
		}
	}
	return out
}

// Rows is the number of rows copied, over all tables.
func (s MigrateSummary) Rows() int64 {
	var n int64
	for _, t := range s.Tables {
		n += t.Rows
	}
	return n
}
