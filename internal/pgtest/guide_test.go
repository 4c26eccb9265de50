package pgtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// The tests in this file follow the operator guide's PostgreSQL recipes
// (docs/operator-guide.md, section 9) with Debian's PostgreSQL: a
// least-privilege role, WAL archiving with the guide's archive_command,
// pg_basebackup, a streaming standby made synchronous and then promoted,
// point-in-time recovery to a named restore point and to a time, and what
// a DELETE and VACUUM leave in a table's file. Each cluster is its own,
// made by initdb in a private directory, listening on a Unix socket only,
// and stopped at the end of the test. Nothing waits for a time: every wait
// polls for the state it needs, with a bound only so that a wedged server
// fails the test instead of hanging it.

// guideCluster is one of a guide test's own clusters.
type guideCluster struct {
	t       *testing.T
	env     *guideEnv
	name    string
	dataDir string
	sockDir string
	log     string
	running bool
}

// guideEnv is what a guide test's clusters share: the programs, the user
// they run as, the superuser's and the roles' passwords.
type guideEnv struct {
	t      *testing.T
	bin    string
	root   string
	cred   *syscall.Credential
	uid    int
	gid    int
	passwd map[string]string // role -> password
	pgpass string            // a PGPASSFILE holding them, as the guide's
}

// pollBound bounds a poll; generous, for a busy 2-core machine.
const pollBound = 10 * time.Minute

func newGuideEnv(t *testing.T) *guideEnv {
	t.Helper()
	bin, err := pgtest.FindBin()
	if err != nil {
		t.Fatal(err)
	}
	e := &guideEnv{t: t, bin: bin, uid: -1, gid: -1, passwd: map[string]string{}}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root: the clusters run as the user postgres, which does not exist: %v", err)
		}
		e.uid, _ = strconv.Atoi(u.Uid)
		e.gid, _ = strconv.Atoi(u.Gid)
		e.cred = &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid)}
	}
	// Not t.TempDir: its parent directories are private to root, and the
	// server's user must reach its own directory.
	e.root, err = os.MkdirTemp("", "candour-pgguide-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(e.root) })
	e.own(e.root)
	for _, role := range []string{pgtest.Superuser, "candour", "replicator"} {
		e.passwd[role] = randomPassword(t)
	}
	// The guide's password file: host:port:database:user:password.
	var b strings.Builder
	for _, role := range []string{pgtest.Superuser, "candour", "replicator"} {
		fmt.Fprintf(&b, "*:*:*:%s:%s\n", role, e.passwd[role])
	}
	e.pgpass = e.write("pgpass", b.String())
	return e
}

func randomPassword(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

// own gives path to the server's user, when the test runs as root.
func (e *guideEnv) own(path string) {
	e.t.Helper()
	if e.cred == nil {
		return
	}
	if err := os.Chown(path, e.uid, e.gid); err != nil {
		e.t.Fatal(err)
	}
}

// write writes a file of mode 0600 for the server's user under the root.
func (e *guideEnv) write(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.root, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.own(p)
	return p
}

// mkdir makes a directory of mode 0700 for the server's user.
func (e *guideEnv) mkdir(name string) string {
	e.t.Helper()
	p := filepath.Join(e.root, name)
	if err := os.Mkdir(p, 0o700); err != nil {
		e.t.Fatal(err)
	}
	e.own(p)
	return p
}

// run runs a PostgreSQL program (or another, by absolute path) as the
// server's user, with the password file, and returns its output.
func (e *guideEnv) run(prog string, args ...string) string {
	e.t.Helper()
	out, err := e.try(prog, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *guideEnv) try(prog string, args ...string) (string, error) {
	if !filepath.IsAbs(prog) {
		prog = filepath.Join(e.bin, prog)
	}
	cmd := exec.Command(prog, args...)
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGPASSFILE="+e.pgpass)
	if e.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", filepath.Base(prog), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// initdb makes a new primary cluster with scram-sha-256 everywhere.
func (e *guideEnv) initdb(name string) *guideCluster {
	e.t.Helper()
	c := e.cluster(name)
	pw := e.write(name+".pw", e.passwd[pgtest.Superuser]+"\n")
	e.run("initdb", "-D", c.dataDir, "-U", pgtest.Superuser, "--pwfile", pw,
		"--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-instructions")
	c.conf(fmt.Sprintf("listen_addresses = ''\nunix_socket_directories = '%s'\n", c.sockDir))
	return c
}

// cluster names a cluster's directories; its data directory is not made.
func (e *guideEnv) cluster(name string) *guideCluster {
	c := &guideCluster{t: e.t, env: e, name: name, dataDir: filepath.Join(e.root, name),
		sockDir: e.mkdir(name + "-sock"), log: filepath.Join(e.root, name+".log")}
	e.t.Cleanup(func() {
		if c.running {
			// Immediate: the test is over, and nothing is kept.
			e.try("pg_ctl", "stop", "-D", c.dataDir, "-m", "immediate", "-w")
		}
	})
	return c
}

// conf appends settings to the cluster's postgresql.conf.
func (c *guideCluster) conf(settings string) {
	c.t.Helper()
	f, err := os.OpenFile(filepath.Join(c.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	_, err = f.WriteString("\n" + settings)
	if err := errors.Join(err, f.Close()); err != nil {
		c.t.Fatal(err)
	}
}

// touch makes an empty file in the data directory (standby.signal,
// recovery.signal).
func (c *guideCluster) touch(name string) {
	c.t.Helper()
	p := filepath.Join(c.dataDir, name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.env.own(p)
}

func (c *guideCluster) start() {
	c.t.Helper()
	if _, err := c.env.try("pg_ctl", "start", "-D", c.dataDir, "-l", c.log, "-w", "-t", "600"); err != nil {
		log, _ := os.ReadFile(c.log)
		c.t.Fatalf("%v\nserver log:\n%s", err, log)
	}
	c.running = true
}

func (c *guideCluster) stop() {
	c.t.Helper()
	c.env.run("pg_ctl", "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", "600")
	c.running = false
}

// dsn is the URL of database db as role, over the cluster's socket.
func (c *guideCluster) dsn(role, db string) string {
	q := url.Values{"host": {c.sockDir}, "sslmode": {"disable"}}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, c.env.passwd[role]), Path: "/" + db, RawQuery: q.Encode()}
	return u.String()
}

// connect connects as role to db; the connection closes with the test.
func (c *guideCluster) connect(role, db string) *pgx.Conn {
	c.t.Helper()
	conn, err := pgx.Connect(context.Background(), c.dsn(role, db))
	if err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
	c.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec1(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryString(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// ids lists the ids in the guide table t, in order.
func ids(t *testing.T, conn *pgx.Conn) []int {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT id FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// poll calls ok until it returns true; it fails the test, with what,
// if that does not happen within pollBound.
func poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollBound)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// setUpPrimary makes the guide's primary: WAL archived with the guide's
// archive_command, the roles candour (owner of the database candour, no
// other right) and replicator, and a table t with the row 1.
func setUpPrimary(t *testing.T, e *guideEnv) (primary *guideCluster, archive string) {
	t.Helper()
	archive = e.mkdir("archive")
	primary = e.initdb("primary")
	primary.conf(fmt.Sprintf("wal_level = replica\narchive_mode = on\narchive_command = 'test ! -f %[1]s/%%f && cp %%p %[1]s/%%f'\n", archive))
	// The guide's line, above initdb's own.
	hba := filepath.Join(primary.dataDir, "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hba, append([]byte("local replication replicator scram-sha-256\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	primary.start()
	su := primary.connect(pgtest.Superuser, "postgres")
	for _, stmt := range []string{
		"CREATE ROLE candour LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L",
		"CREATE DATABASE candour OWNER candour",
		"REVOKE ALL ON DATABASE candour FROM PUBLIC",
		"CREATE ROLE replicator LOGIN REPLICATION PASSWORD %L",
	} {
		pw := e.passwd["candour"]
		if strings.Contains(stmt, "replicator") {
			pw = e.passwd["replicator"]
		}
		exec1(t, su, queryString(t, su, "SELECT format($1::text, $2::text)", stmt, pw))
	}
	app := primary.connect("candour", "candour")
	exec1(t, app, `CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)`)
	exec1(t, app, `INSERT INTO t VALUES (1, 'one')`)
	return primary, archive
}

func TestGuideRoleOwnsItsDatabaseAndNothingElse(t *testing.T) {
	e := newGuideEnv(t)
	primary, _ := setUpPrimary(t, e)
	app := primary.connect("candour", "candour")
	ctx := context.Background()
	// It could create its table (setUpPrimary did) but may not make roles
	// or databases.
	for _, stmt := range []string{"CREATE ROLE intruder", "CREATE DATABASE other"} {
		if _, err := app.Exec(ctx, stmt); err == nil {
			t.Errorf("the role candour could run %q", stmt)
		}
	}
	// No other role can connect to its database.
	su := primary.connect(pgtest.Superuser, "postgres")
	exec1(t, su, queryString(t, su, "SELECT format('CREATE ROLE other LOGIN PASSWORD %L', $1::text)", e.passwd["candour"]))
	other := strings.Replace(primary.dsn("candour", "candour"), "candour:", "other:", 1)
	conn, err := pgx.Connect(ctx, other)
	if err == nil {
		conn.Close(ctx)
		t.Fatal("another role could connect to the database candour")
	}
	if !strings.Contains(err.Error(), "permission denied for database") {
		t.Errorf("another role was refused, but not for want of CONNECT: %v", err)
	}
}

func TestGuideStandbyPointInTimeRecoveryAndPromotion(t *testing.T) {
	e := newGuideEnv(t)
	ctx := context.Background()
	primary, archive := setUpPrimary(t, e)
	app := primary.connect("candour", "candour")
	su := primary.connect(pgtest.Superuser, "postgres")

	// One streaming standby, as the guide makes it.
	standby := e.cluster("standby")
	e.run("pg_basebackup", "-h", primary.sockDir, "-U", "replicator", "-D", standby.dataDir, "-X", "stream", "-c", "fast", "-R")
	for _, f := range []string{"standby.signal", "postgresql.auto.conf"} {
		if _, err := os.Stat(filepath.Join(standby.dataDir, f)); err != nil {
			t.Fatalf("pg_basebackup -R wrote no %s: %v", f, err)
		}
	}
	auto, err := os.ReadFile(filepath.Join(standby.dataDir, "postgresql.auto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(auto, []byte("passfile=")) || bytes.Contains(auto, []byte(e.passwd["replicator"])) {
		t.Errorf("primary_conninfo should name the password file and hold no password:\n%s", auto)
	}
	standby.conf(fmt.Sprintf("unix_socket_directories = '%s'\ncluster_name = 'standby1'\n", standby.sockDir))
	standby.start()
	replica := standby.connect("candour", "candour")

	exec1(t, app, `INSERT INTO t VALUES (2, 'two')`)
	poll(t, "row 2 on the standby", func() bool { return slices.Contains(ids(t, replica), 2) })
	if _, err := replica.Exec(ctx, `INSERT INTO t VALUES (99, 'refused')`); err == nil {
		t.Error("the standby accepted a write")
	}
	poll(t, "the standby streaming", func() bool {
		return queryString(t, su, `SELECT coalesce(max(state), '') FROM pg_stat_replication WHERE application_name = 'standby1'`) == "streaming"
	})

	// Synchronous: a commit returns once the standby has it on disk.
	exec1(t, su, `ALTER SYSTEM SET synchronous_standby_names = 'standby1'`)
	exec1(t, su, `SELECT pg_reload_conf()`)
	poll(t, "the standby synchronous", func() bool {
		return queryString(t, su, `SELECT coalesce(max(sync_state), '') FROM pg_stat_replication WHERE application_name = 'standby1'`) == "sync"
	})
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO t VALUES (3, 'three')`); err != nil {
		t.Fatal(err)
	}
	var beforeCommit string
	if err := tx.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&beforeCommit); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// The commit returned only once the standby had flushed its record,
	// which comes after beforeCommit.
	if flushed := queryString(t, su, `SELECT (flush_lsn > $1::pg_lsn)::text FROM pg_stat_replication WHERE application_name = 'standby1'`, beforeCommit); flushed != "true" {
		t.Errorf("a synchronous commit returned before the standby had flushed it (standby's flush_lsn past %s: %s)", beforeCommit, flushed)
	}
	exec1(t, su, `ALTER SYSTEM RESET synchronous_standby_names`)
	exec1(t, su, `SELECT pg_reload_conf()`)

	// A base backup, then the history point-in-time recovery must undo:
	// row 4 written, the restore point, row 4 deleted, row 5 written.
	base := filepath.Join(e.root, "base")
	e.run("pg_basebackup", "-h", primary.sockDir, "-U", "replicator", "-D", base, "-Ft", "-z", "-X", "fetch", "-c", "fast")
	exec1(t, app, `INSERT INTO t VALUES (4, 'four')`)
	target := queryString(t, app, `SELECT now()::text`)
	exec1(t, su, `SELECT pg_create_restore_point('before-delete')`)
	exec1(t, app, `DELETE FROM t WHERE id = 4`)
	exec1(t, app, `INSERT INTO t VALUES (5, 'five')`)
	last := queryString(t, su, `SELECT pg_walfile_name(pg_switch_wal())`)
	poll(t, "segment "+last+" archived", func() bool {
		return queryString(t, su, `SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver`) >= last
	})
	if _, err := os.Stat(filepath.Join(archive, last)); err != nil {
		t.Fatalf("archive_command reported %s archived, but: %v", last, err)
	}

	for _, tc := range []struct{ name, setting, logLine string }{
		{"a named restore point", "recovery_target_name = 'before-delete'", `recovery stopping at restore point "before-delete"`},
		{"a time", fmt.Sprintf("recovery_target_time = '%s'", target), "recovery stopping before commit"},
	} {
		t.Run("recovery to "+tc.name+" brings back the deleted row and not what came after", func(t *testing.T) {
			r := e.cluster("restore-" + strings.ReplaceAll(tc.name, " ", "-"))
			e.mkdirAt(r.dataDir)
			e.run(tarPath(t), "-xzf", filepath.Join(base, "base.tar.gz"), "-C", r.dataDir)
			r.conf(fmt.Sprintf("unix_socket_directories = '%s'\narchive_mode = off\nrestore_command = 'cp %s/%%f %%p'\n%s\nrecovery_target_action = 'promote'\n",
				r.sockDir, archive, tc.setting))
			r.touch("recovery.signal")
			r.start()
			conn := r.connect("candour", "candour")
			poll(t, "the restored cluster promoted", func() bool {
				return queryString(t, conn, `SELECT pg_is_in_recovery()::text`) == "false"
			})
			if got, want := ids(t, conn), []int{1, 2, 3, 4}; !slices.Equal(got, want) {
				t.Errorf("restored rows %v, want %v", got, want)
			}
			exec1(t, conn, `INSERT INTO t VALUES (6, 'after the restore')`)
			log, _ := os.ReadFile(r.log)
			if !bytes.Contains(log, []byte(tc.logLine)) {
				t.Errorf("the server log does not say %q:\n%s", tc.logLine, log)
			}
			r.stop()
		})
	}

	// Failover: the standby, promoted, takes writes and has what the
	// primary had (once it has received it: it is asynchronous again).
	poll(t, "row 5 on the standby", func() bool { return slices.Contains(ids(t, replica), 5) })
	e.run("pg_ctl", "promote", "-D", standby.dataDir, "-w", "-t", "600")
	poll(t, "the standby promoted", func() bool {
		return queryString(t, replica, `SELECT pg_is_in_recovery()::text`) == "false"
	})
	exec1(t, replica, `INSERT INTO t VALUES (7, 'on the new primary')`)
	if got, want := ids(t, replica), []int{1, 2, 3, 5, 7}; !slices.Equal(got, want) {
		t.Errorf("the promoted standby holds %v, want %v", got, want)
	}
}

// mkdirAt makes the directory path (under the root) for the server's user.
func (e *guideEnv) mkdirAt(path string) {
	e.t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		e.t.Fatal(err)
	}
	e.own(path)
}

// TestGuideDeletedRowStaysInTheTableFileAfterVacuum checks what the guide
// says a deletion leaves on PostgreSQL: VACUUM makes a deleted row's
// space reusable without overwriting it, the WAL still holds it, and
// VACUUM FULL writes a new file without it.
func TestGuideDeletedRowStaysInTheTableFileAfterVacuum(t *testing.T) {
	e := newGuideEnv(t)
	primary, _ := setUpPrimary(t, e)
	app := primary.connect("candour", "candour")
	su := primary.connect(pgtest.Superuser, "candour")
	marker := "deleted-" + randomPassword(t)
	exec1(t, app, `INSERT INTO t SELECT g, 'filler-' || g FROM generate_series(10, 60) g`)
	exec1(t, app, `INSERT INTO t VALUES (1000, $1)`, marker)
	exec1(t, su, `CHECKPOINT`)
	file := filepath.Join(primary.dataDir, queryString(t, app, `SELECT pg_relation_filepath('t')`))
	contains := func(path string) bool {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(b, []byte(marker))
	}
	if !contains(file) {
		t.Fatal("the row is not in the table's file before the deletion: the test looks in the wrong place")
	}

	exec1(t, app, `DELETE FROM t WHERE id = 1000`)
	exec1(t, app, `VACUUM t`)
	exec1(t, su, `CHECKPOINT`)
	if !contains(file) {
		t.Error("after DELETE, VACUUM and CHECKPOINT the row's bytes are gone from the table's file: the guide says they stay until reused; correct it")
	}
	segments, err := filepath.Glob(filepath.Join(primary.dataDir, "pg_wal", "0*"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(segments, contains) {
		t.Error("no segment in pg_wal holds the deleted row: the guide says pg_wal does until it is recycled; correct it")
	}

	exec1(t, app, `VACUUM FULL t`)
	exec1(t, su, `CHECKPOINT`)
	rewritten := filepath.Join(primary.dataDir, queryString(t, app, `SELECT pg_relation_filepath('t')`))
	if rewritten == file {
		t.Fatal("VACUUM FULL kept the table's file")
	}
	if contains(rewritten) {
		t.Error("VACUUM FULL copied the deleted row into the new file")
	}
}

// tarPath is tar's path, for extracting a base backup as the server's user.
func tarPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tar")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGuideWALAndHeapKeepWhenRowsWereWritten checks what SECURITY.md says
// PostgreSQL's own files record of when rows were written, whatever the
// rows themselves hold: a table's heap keeps rows in the order they were
// inserted even when their keys are random, and the WAL holds each
// transaction's commit time to the microsecond beside the table its
// inserts went to, in pg_wal until the segment is recycled and in the
// archive for as long as it is kept.
func TestGuideWALAndHeapKeepWhenRowsWereWritten(t *testing.T) {
	e := newGuideEnv(t)
	primary, _ := setUpPrimary(t, e)
	app := primary.connect("candour", "candour")
	su := primary.connect(pgtest.Superuser, "candour")
	start := queryString(t, su, `SELECT pg_current_wal_lsn()::text`)
	before := time.Now().Add(-time.Second)
	// Keys in falling order: a B-tree would list them the other way.
	for _, id := range []int{900, 500, 100} {
		exec1(t, app, `INSERT INTO t VALUES ($1, 'row')`, id)
	}
	after := time.Now().Add(time.Second)
	end := queryString(t, su, `SELECT pg_current_wal_lsn()::text`)

	rows, err := app.Query(context.Background(), `SELECT id FROM t ORDER BY ctid`)
	if err != nil {
		t.Fatal(err)
	}
	inHeap, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inHeap, []int{1, 900, 500, 100}) {
		t.Errorf("the heap holds the rows in the order %v, not the order they were inserted (1, 900, 500, 100): correct SECURITY.md", inHeap)
	}

	// Each row's header names the transaction that wrote it (xmin), a
	// number that grows with every transaction, readable with plain SQL.
	rows, err = app.Query(context.Background(), `SELECT id FROM t ORDER BY xmin::text::bigint`)
	if err != nil {
		t.Fatal(err)
	}
	byXmin, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(byXmin, []int{1, 900, 500, 100}) {
		t.Errorf("ordered by xmin, the rows are %v, not in the order they were inserted (1, 900, 500, 100): correct SECURITY.md", byXmin)
	}

	xid := queryString(t, app, `SELECT xmin::text FROM t WHERE id = 500`)
	rel := queryString(t, app, `SELECT pg_relation_filepath('t')`) // base/<db oid>/<relfilenode>
	parts := strings.Split(rel, "/")
	dump := e.run("pg_waldump", "--path", filepath.Join(primary.dataDir, "pg_wal"), "--start", start, "--end", end)
	var inserted bool
	var committed time.Time
	ofTx := regexp.MustCompile(`\btx:\s+` + xid + `,`)
	for _, line := range strings.Split(dump, "\n") {
		if !ofTx.MatchString(line) {
			continue
		}
		if strings.Contains(line, "desc: INSERT") && strings.Contains(line, "/"+parts[len(parts)-2]+"/"+parts[len(parts)-1]+" ") {
			inserted = true
		}
		if i := strings.Index(line, "desc: COMMIT "); i >= 0 {
			// "2026-12-07 01:02:03.123456 UTC", then perhaps more.
			f := strings.Fields(line[i+len("desc: COMMIT "):])
			if len(f) >= 3 {
				committed, err = time.Parse("2006-01-02 15:04:05.999999 MST", strings.Join(f[:3], " "))
				if err != nil {
					t.Fatalf("a commit time pg_waldump printed does not parse: %v\n%s", err, line)
				}
				if !strings.Contains(f[1], ".") || len(f[1]) != len("15:04:05.123456") {
					t.Errorf("the commit time %q is not to the microsecond", f[1])
				}
			}
		}
	}
	if !inserted {
		t.Errorf("pg_waldump shows no insert into t (%s) by transaction %s: correct SECURITY.md\n%s", rel, xid, dump)
	}
	if committed.Before(before) || committed.After(after) {
		t.Errorf("pg_waldump shows transaction %s committed at %v, not between %v and %v: correct SECURITY.md\n%s", xid, committed, before, after, dump)
	}
}

// TestGuideComposeRoleScriptMakesTheGuidesRole runs the script that
// compose.postgres.yaml gives the database container
// (deploy/postgres/10-candour-role.sh), as the postgres image runs it on a
// new volume: psql as the superuser over the socket, the password read
// from Candour's own password file. The role it makes must be the guide's:
// it logs in with that password, owns the database candour, and can make
// neither roles nor databases; no other role may connect there.
func TestGuideComposeRoleScriptMakesTheGuidesRole(t *testing.T) {
	e := newGuideEnv(t)
	c := e.initdb("compose")
	c.start()
	script, err := os.ReadFile(filepath.Join("..", "..", "deploy", "postgres", "10-candour-role.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// compose.postgres.yaml's format: host:port:database:user:password.
	pgpass := e.write("candour.pgpass", "*:*:candour:candour:"+e.passwd["candour"]+"\n")
	cmd := exec.Command("/bin/sh", e.write("10-candour-role.sh", string(script)))
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGPASSFILE="+e.pgpass, "PGHOST="+c.sockDir,
		"POSTGRES_USER="+pgtest.Superuser, "CANDOUR_PGPASS_FILE="+pgpass, "PATH="+e.bin+":"+os.Getenv("PATH"))
	if e.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("10-candour-role.sh: %v\n%s", err, out)
	}

	app := c.connect("candour", "candour") // the password of the file
	ctx := context.Background()
	if got := queryString(t, app, `SELECT format('%s %s %s %s', rolsuper, rolcreatedb, rolcreaterole, rolreplication)
		FROM pg_roles WHERE rolname = current_user`); got != "f f f f" {
		t.Errorf("the role's superuser, createdb, createrole and replication rights are %q, want none", got)
	}
	if got := queryString(t, app, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'candour'`); got != "candour" {
		t.Errorf("the database candour is owned by %q", got)
	}
	exec1(t, app, `CREATE TABLE t (id int PRIMARY KEY)`) // serve makes its schema
	for _, stmt := range []string{"CREATE ROLE intruder", "CREATE DATABASE other"} {
		if _, err := app.Exec(ctx, stmt); err == nil {
			t.Errorf("the role candour could run %q", stmt)
		}
	}
	su := c.connect(pgtest.Superuser, "postgres")
	exec1(t, su, queryString(t, su, "SELECT format('CREATE ROLE other LOGIN PASSWORD %L', $1::text)", e.passwd["candour"]))
	conn, err := pgx.Connect(ctx, strings.Replace(c.dsn("candour", "candour"), "candour:", "other:", 1))
	if err == nil {
		conn.Close(ctx)
		t.Fatal("another role could connect to the database candour")
	}
	if !strings.Contains(err.Error(), "permission denied for database") {
		t.Errorf("another role was refused, but not for want of CONNECT: %v", err)
	}
}

// TestGuideCommitTimestampsAreRefused turns on track_commit_timestamp, as
// an operator might for logical replication, and checks what SECURITY.md
// says of it: any role that can read a table then gets each row's commit
// time with pg_xact_commit_timestamp(xmin), and Candour's check
// (storage.CheckPostgresPrivacy, which `candour serve` runs at start)
// refuses such a server.
func TestGuideCommitTimestampsAreRefused(t *testing.T) {
	e := newGuideEnv(t)
	primary, _ := setUpPrimary(t, e)
	su := primary.connect(pgtest.Superuser, "postgres")
	exec1(t, su, `ALTER SYSTEM SET track_commit_timestamp = on`)
	su.Close(context.Background())
	primary.stop()
	primary.start()

	app := primary.connect("candour", "candour")
	exec1(t, app, `INSERT INTO t VALUES (2, 'a report')`)
	if got := queryString(t, app, `SELECT (pg_xact_commit_timestamp(xmin) IS NOT NULL)::text FROM t WHERE id = 2`); got != "true" {
		t.Errorf("with track_commit_timestamp on, a row's commit time is %q: correct SECURITY.md", got)
	}

	db, err := storage.OpenPostgres(primary.dsn("candour", "candour"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	refused, _, err := db.CheckPostgresPrivacy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || refused[0].Name != "track_commit_timestamp" || refused[0].Value != "on" {
		t.Errorf("CheckPostgresPrivacy refused %v, want track_commit_timestamp = on alone", refused)
	}
}
