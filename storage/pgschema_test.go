package storage_test

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// The storage package's tests start a PostgreSQL server of their own (the
// first time a test asks for one) and stop it when they are done.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// pgSchemaOnly and sqliteSchemaOnly are the deliberate differences between
// the PostgreSQL schema (storage/pgmigrations) and SQLite's after its last
// migration (storage/migrations), as lines of describeSchema. Anything
// else that differs fails TestPostgresSchemaMatchesSQLite.
var (
	pgSchemaOnly = []string{
		// The schema version: SQLite keeps it in PRAGMA user_version.
		"candour_schema: table",
		"candour_schema: column 1 id integer NOT NULL",
		"candour_schema: column 2 version integer NOT NULL",
		"candour_schema: primary key (id)",
		"candour_schema: 2 CHECK constraints",
		"candour_schema: rows [1 4]",
		// TRUNCATE, which SQLite does not have, is refused like DELETE.
		"audit_head: trigger audit_head_no_truncate",
		"audit_log: trigger audit_log_no_truncate",
		// Ids the Go code leaves to the database (it inserts these rows
		// without one): SQLite's INTEGER PRIMARY KEY assigns them, and
		// does so for every table with one; PostgreSQL's identity only
		// where the code needs it, so that an id the code forgets to
		// give (a random one) is an error, not a sequential id.
		"channels: column 1 id identity",
		"identity_requests: column 1 id identity",
		"kdf_params: column 1 id identity",
		"notes: column 1 id identity",
		"org_recipients: column 1 id identity",
		"outcomes: column 1 id identity",
		"staff: column 1 id identity",
		"staff_passkeys: column 1 id identity",
		"staff_recovery_codes: column 1 id identity",
	}
	sqliteSchemaOnly = []string{}
)

// pgMigrations reads the PostgreSQL migrations in their order.
func pgMigrations(t *testing.T) (names []string, bodies []string) {
	t.Helper()
	names, err := filepath.Glob("pgmigrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no PostgreSQL migrations found in storage/pgmigrations (%v)", err)
	}
	sort.Strings(names)
	for i, name := range names {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil || n != i+1 {
			t.Fatalf("PostgreSQL migration %s is out of sequence: want number %d", name, i+1)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	return names, bodies
}

// openPostgresSchema opens a fresh PostgreSQL database with the
// migrations of storage/pgmigrations applied, each in its own transaction
// with its version, as the engine's runner is to apply them.
func openPostgresSchema(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.Start(t).NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	names, bodies := pgMigrations(t)
	for i, body := range bodies {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(body); err != nil {
			t.Fatalf("failed to apply %s: %v", names[i], err)
		}
		if _, err := tx.Exec(`UPDATE candour_schema SET version = $1`, i+1); err != nil {
			t.Fatalf("failed to record version %d: %v", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// openSQLiteSchema opens a fresh SQLite database made by storage.Open, and
// a connection of its own to its file.
func openSQLiteSchema(t *testing.T) *sql.DB {
	t.Helper()
	dir := t.TempDir()
	sdb, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, storage.FileName)+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	t.Parallel()
	lite := describeSQLite(t, openSQLiteSchema(t))
	pg := describePostgres(t, openPostgresSchema(t))

	want := slices.Concat(lite, pgSchemaOnly)
	got := slices.Concat(pg, sqliteSchemaOnly)
	sort.Strings(want)
	sort.Strings(got)
	var missing, extra []string
	for _, l := range want {
		if _, found := slices.BinarySearch(got, l); !found {
			missing = append(missing, l)
		}
	}
	for _, l := range got {
		if _, found := slices.BinarySearch(want, l); !found {
			extra = append(extra, l)
		}
	}
	for _, l := range pgSchemaOnly {
		if slices.Contains(lite, l) {
			t.Errorf("allow-listed as PostgreSQL's only, but SQLite has it too: %s", l)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("the PostgreSQL schema differs from SQLite's (add a migration to storage/pgmigrations, "+
			"or a commented line to the allow-list in storage/pgschema_test.go)\n"+
			"SQLite has, PostgreSQL not:\n\t%s\nPostgreSQL has, SQLite not:\n\t%s",
			strings.Join(missing, "\n\t"), strings.Join(extra, "\n\t"))
	}
	if len(lite) < 300 {
		t.Fatalf("SQLite's schema reads as only %d lines: the description is broken", len(lite))
	}
}

// family is the type family of a declared column type, on either engine.
func family(t *testing.T, typ string) string {
	switch strings.ToLower(typ) {
	case "integer", "bigint", "smallint":
		return "integer"
	case "text":
		return "text"
	case "blob", "bytea":
		return "blob"
	case "real", "double precision":
		return "real"
	}
	t.Fatalf("column type %q has no family", typ)
	return ""
}

var checkRE = regexp.MustCompile(`(?i)\bCHECK\s*\(`)

// describeSQLite describes SQLite's schema as lines (see describePostgres:
// the two must describe the same schema with the same lines).
func describeSQLite(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	tables := queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	for _, tbl := range tables {
		add := func(format string, args ...any) { out = append(out, tbl+": "+fmt.Sprintf(format, args...)) }
		add("table")

		var create string
		if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, tbl).Scan(&create); err != nil {
			t.Fatal(err)
		}
		var noComments []string
		for _, line := range strings.Split(create, "\n") {
			line, _, _ = strings.Cut(line, "--")
			noComments = append(noComments, line)
		}
		if n := len(checkRE.FindAllString(strings.Join(noComments, "\n"), -1)); n > 0 {
			add("%d CHECK constraints", n)
		}

		rows, err := db.Query(`SELECT cid, name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		pk := map[int]string{}
		for rows.Next() {
			var cid, notNull, pkPos int
			var name, typ string
			var dflt sql.NullString
			if err := rows.Scan(&cid, &name, &typ, &notNull, &dflt, &pkPos); err != nil {
				t.Fatal(err)
			}
			// A primary key column is NOT NULL on PostgreSQL; SQLite
			// reports one as nullable (an INTEGER PRIMARY KEY cannot be
			// NULL all the same).
			col := fmt.Sprintf("column %d %s %s", cid+1, name, family(t, typ))
			if notNull == 1 || pkPos > 0 {
				col += " NOT NULL"
			}
			if dflt.Valid {
				col += " DEFAULT " + dflt.String
			}
			add("%s", col)
			if pkPos > 0 {
				pk[pkPos] = name
			}
		}
		closeRows(t, rows)
		if len(pk) > 0 {
			cols := make([]string, len(pk))
			for i := range cols {
				cols[i] = pk[i+1]
			}
			add("primary key (%s)", strings.Join(cols, ", "))
		}

		rows, err = db.Query(`SELECT id, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		type fk struct {
			table, onUpdate, onDelete string
			from, to                  []string
		}
		fks := map[int]*fk{}
		for rows.Next() {
			var id int
			var table, from, to, onUpdate, onDelete string
			if err := rows.Scan(&id, &table, &from, &to, &onUpdate, &onDelete); err != nil {
				t.Fatal(err)
			}
			if fks[id] == nil {
				fks[id] = &fk{table: table, onUpdate: onUpdate, onDelete: onDelete}
			}
			fks[id].from = append(fks[id].from, from)
			fks[id].to = append(fks[id].to, to)
		}
		closeRows(t, rows)
		for _, f := range fks {
			add("foreign key (%s) references %s (%s) on update %s on delete %s",
				strings.Join(f.from, ", "), f.table, strings.Join(f.to, ", "), f.onUpdate, f.onDelete)
		}

		rows, err = db.Query(`SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		type idx struct {
			name, origin    string
			unique, partial bool
		}
		var idxs []idx
		for rows.Next() {
			var i idx
			if err := rows.Scan(&i.name, &i.unique, &i.origin, &i.partial); err != nil {
				t.Fatal(err)
			}
			idxs = append(idxs, i)
		}
		closeRows(t, rows)
		for _, i := range idxs {
			if i.origin == "pk" {
				continue // the primary key, above
			}
			rows, err := db.Query(`SELECT cid, coalesce(name, ''), "desc", coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`, i.name)
			if err != nil {
				t.Fatal(err)
			}
			var cols []string
			for rows.Next() {
				var cid int
				var name, coll string
				var desc bool
				if err := rows.Scan(&cid, &name, &desc, &coll); err != nil {
					t.Fatal(err)
				}
				cols = append(cols, indexColumn(cid == -2, name, desc, coll))
			}
			closeRows(t, rows)
			add("%s", indexLine(i.name, i.origin == "u", i.unique, i.partial, cols))
		}

		for _, trig := range queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?`, tbl) {
			add("trigger %s", trig)
		}
		add("rows %s", tableRows(t, db, tbl))
	}
	return out
}

// describePostgres describes the PostgreSQL schema (the public schema of
// db) in the lines of describeSQLite.
func describePostgres(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	tables := queryStrings(t, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	for _, tbl := range tables {
		add := func(format string, args ...any) { out = append(out, tbl+": "+fmt.Sprintf(format, args...)) }
		add("table")

		var checks int
		if err := db.QueryRow(`SELECT count(*) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'`, tbl).Scan(&checks); err != nil {
			t.Fatal(err)
		}
		if checks > 0 {
			add("%d CHECK constraints", checks)
		}

		rows, err := db.Query(`SELECT ordinal_position, column_name, data_type, is_nullable = 'NO', column_default, is_identity = 'YES'
			FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var pos int
			var name, typ string
			var notNull, identity bool
			var dflt sql.NullString
			if err := rows.Scan(&pos, &name, &typ, &notNull, &dflt, &identity); err != nil {
				t.Fatal(err)
			}
			col := fmt.Sprintf("column %d %s %s", pos, name, family(t, typ))
			if notNull {
				col += " NOT NULL"
			}
			if dflt.Valid {
				// '' and 0 as SQLite writes them: PostgreSQL adds the cast.
				d, _, _ := strings.Cut(dflt.String, "::")
				col += " DEFAULT " + d
			}
			add("%s", col)
			if identity {
				add("column %d %s identity", pos, name)
			}
		}
		closeRows(t, rows)

		// Key and foreign key columns, in the constraint's order.
		rows, err = db.Query(`SELECT c.contype, c.conname, coalesce(f.relname, ''),
				array_to_string(array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
					JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), ', '),
				array_to_string(array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
					JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o), ', '),
				c.confupdtype, c.confdeltype
			FROM pg_constraint c LEFT JOIN pg_class f ON f.oid = c.confrelid
			WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'f')`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]string{"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT", " ": ""}
		for rows.Next() {
			var typ, name, ref, cols, refCols, onUpdate, onDelete string
			if err := rows.Scan(&typ, &name, &ref, &cols, &refCols, &onUpdate, &onDelete); err != nil {
				t.Fatal(err)
			}
			if typ == "p" {
				add("primary key (%s)", cols)
			} else {
				add("foreign key (%s) references %s (%s) on update %s on delete %s", cols, ref, refCols, actions[onUpdate], actions[onDelete])
			}
		}
		closeRows(t, rows)

		rows, err = db.Query(`SELECT i.relname, ix.indisunique, ix.indpred IS NOT NULL,
				EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype = 'u'),
				k.n = 0, coalesce(a.attname, ''), (ix.indoption[k.o - 1] & 1) = 1, coalesce(coll.collname, '')
			FROM pg_index ix
			JOIN pg_class i ON i.oid = ix.indexrelid
			CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(n, o)
			LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n AND k.n > 0
			LEFT JOIN pg_collation coll ON coll.oid = ix.indcollation[k.o - 1]
			WHERE ix.indrelid = $1::regclass AND NOT ix.indisprimary AND k.o <= ix.indnkeyatts
			ORDER BY i.relname, k.o`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		type idx struct {
			name                        string
			unique, partial, constraint bool
			cols                        []string
		}
		var idxs []*idx
		for rows.Next() {
			var i idx
			var expr, desc bool
			var col, coll string
			if err := rows.Scan(&i.name, &i.unique, &i.partial, &i.constraint, &expr, &col, &desc, &coll); err != nil {
				t.Fatal(err)
			}
			if len(idxs) == 0 || idxs[len(idxs)-1].name != i.name {
				idxs = append(idxs, &i)
			}
			last := idxs[len(idxs)-1]
			last.cols = append(last.cols, indexColumn(expr, col, desc, coll))
		}
		closeRows(t, rows)
		for _, i := range idxs {
			add("%s", indexLine(i.name, i.constraint, i.unique, i.partial, i.cols))
		}

		for _, trig := range queryStrings(t, db, `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`, tbl) {
			add("trigger %s", trig)
		}
		add("rows %s", tableRows(t, db, tbl))
	}
	return out
}

// indexColumn describes one key column of an index: its name (or <expr>),
// DESC, and its collation if it is not the default (SQLite's BINARY,
// PostgreSQL's default or none): NOCASE, PostgreSQL's nocase.
func indexColumn(expr bool, name string, desc bool, coll string) string {
	s := name
	if expr {
		s = "<expr>"
	}
	if desc {
		s += " DESC"
	}
	if c := strings.ToLower(coll); c != "" && c != "binary" && c != "default" {
		s += " COLLATE " + c
	}
	return s
}

// indexLine describes an index. A UNIQUE constraint's index has a name
// each engine makes up (sqlite_autoindex_cases_1, cases_ref_key), so it is
// described by its columns alone; an index made by CREATE INDEX by its name.
func indexLine(name string, constraint, unique, partial bool, cols []string) string {
	if constraint {
		return fmt.Sprintf("unique (%s)", strings.Join(cols, ", "))
	}
	s := "index " + name
	if unique {
		s = "unique " + s
	}
	s += " (" + strings.Join(cols, ", ") + ")"
	if partial {
		s += " partial"
	}
	return s
}

// tableRows renders the rows of tbl, sorted, as text: on a fresh database
// the rows the migrations seed (the audit head, the default channel, the
// outcome categories, ...), which must be the same on both engines.
func tableRows(t *testing.T, db *sql.DB, tbl string) string {
	t.Helper()
	// The table name comes from the catalogue, not from input; quoted.
	rows, err := db.Query(`SELECT * FROM "` + tbl + `"`)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRows(t, rows)
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				fields = append(fields, "x'"+hex.EncodeToString(v)+"'")
			case string:
				fields = append(fields, strconv.Quote(v))
			default:
				fields = append(fields, fmt.Sprint(v))
			}
		}
		all = append(all, "["+strings.Join(fields, " ")+"]")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(all)
	return strings.Join(all, " ")
}

func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRows(t, rows)
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func closeRows(t *testing.T, rows *sql.Rows) {
	t.Helper()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
}

// The constraints and triggers that the description above only counts or
// names: the same statements are refused, and accepted, by both engines.
func TestPostgresSchemaRefusesWhatSQLiteRefuses(t *testing.T) {
	t.Parallel()
	steps := []struct {
		sql string
		ok  bool
	}{
		{`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('Alice', 'caseworker', 1, 1)`, true},
		{`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('alice', 'admin', 1, 1)`, false},
		{`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('', 'admin', 1, 1)`, false},
		{`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('bob', 'owner', 1, 1)`, false},
		{`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('stats', 'statistics', 1, 1)`, true},
		{`UPDATE staff SET disabled = 2 WHERE username = 'ALICE'`, false},
		{`UPDATE staff SET notify_email = '` + strings.Repeat("a", 255) + `' WHERE username = 'ALICE'`, false},
		{`INSERT INTO channel_members (channel_id, staff_id) SELECT 1, id FROM staff WHERE username = 'ALICE'`, true},
		{`INSERT INTO channel_members (channel_id, staff_id) SELECT 1, id FROM staff WHERE username = 'stats'`, false},
		{`INSERT INTO channels (position, created_at, updated_at) VALUES (2, 1, 1)`, true},
		{`INSERT INTO channel_texts (channel_id, lang, name) VALUES (2, 'en', 'Second')`, true}, // the new channel's id is 2
		{`UPDATE channels SET ack_days = 366 WHERE id = 2`, false},
		{`INSERT INTO outcomes (label, position) VALUES ('SUBSTANTIATED', 7)`, false},
		{`INSERT INTO outcomes (label, position) VALUES ('Another', 7)`, true},
		{`INSERT INTO audit_log (id, at, actor, action, prev_hash, hash) SELECT 1, 1, 'cli', 'x', last_hash, last_hash FROM audit_head`, true},
		{`UPDATE audit_log SET actor = 'someone else'`, false},
		{`DELETE FROM audit_log`, false},
		{`DELETE FROM audit_head`, false},
		{`INSERT INTO kdf_params (time, memory_kib, threads, salt, created_at) SELECT 1, 1, 1, last_hash, 1 FROM audit_head`, true},
		{`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at)
			SELECT 7, 'ref', last_hash, 1, last_hash, 'age1', 'new', 1, 1 FROM audit_head`, true},
		{`INSERT INTO messages (id, case_id, author, created_at, ciphertext, seq) SELECT 8, 7, 'staff', 1, last_hash, 1 FROM audit_head`, true},
		{`INSERT INTO messages (id, case_id, author, created_at, ciphertext, seq) SELECT 9, 7, 'staff', 1, last_hash, 1 FROM audit_head`, false},
		{`INSERT INTO messages (id, case_id, author, created_at, ciphertext, seq) SELECT 9, 7, 'someone', 1, last_hash, 2 FROM audit_head`, false},
		{`INSERT INTO messages (id, case_id, author, created_at, ciphertext, seq) SELECT 9, 70, 'staff', 1, last_hash, 2 FROM audit_head`, false},
		{`INSERT INTO staff_wrapped_identities (staff_id, wrapped, created_at) SELECT id, x.z, 1 FROM staff, (SELECT substr(last_hash, 1, 0) AS z FROM audit_head) x WHERE username = 'alice'`, false},
		{`UPDATE cases SET assignee_id = (SELECT id FROM staff WHERE username = 'alice')`, true},
		{`DELETE FROM staff WHERE username = 'alice'`, true},
		{`DELETE FROM kdf_params`, false}, // a case uses it
		{`DELETE FROM cases`, true},
	}
	// What each database holds after the steps: the same on both.
	check := `SELECT (SELECT count(*) FROM staff) || ' staff, ' || (SELECT count(*) FROM channel_members) || ' members, ' ||
		(SELECT count(*) FROM messages) || ' messages, ' || (SELECT count(*) FROM audit_log) || ' audit entries'`
	for _, engine := range []struct {
		name string
		db   *sql.DB
	}{{"SQLite", openSQLiteSchema(t)}, {"PostgreSQL", openPostgresSchema(t)}} {
		for _, s := range steps {
			_, err := engine.db.Exec(s.sql)
			if s.ok && err != nil {
				t.Errorf("%s refused %s: %v", engine.name, s.sql, err)
			}
			if !s.ok && err == nil {
				t.Errorf("%s accepted %s", engine.name, s.sql)
			}
		}
		var got string
		if err := engine.db.QueryRow(check).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := "1 staff, 0 members, 0 messages, 1 audit entries"; got != want {
			t.Errorf("%s holds %s, want %s", engine.name, got, want)
		}
	}
}
