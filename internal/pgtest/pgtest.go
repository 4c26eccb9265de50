// Package pgtest starts, for tests, a real PostgreSQL server of its own: a
// throwaway cluster made by initdb in a private temporary directory and run
// by pg_ctl, one per test binary, with a fresh database (and role) for
// every caller of NewDatabase. No mock and no in-memory stand-in: the
// server is Debian's PostgreSQL with its defaults (fsync on), so that what
// the tests see is what an installation sees.
//
// A test binary that uses it runs its tests through Main, which stops the
// cluster and removes its files when the tests are done:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.Start(t).NewDatabase(t) // postgres://…
//		…
//	}
//
// Where it listens: on a Unix socket only (listen_addresses = ”), in a
// directory of mode 0700 that belongs to the server's user. Nothing is
// reachable from the network, and no other local user can reach the
// socket.
//
// Authentication: scram-sha-256 with generated passwords, also over the
// socket, rather than trust. Trust would be safe on a socket nobody else
// can enter, but a DSN that carries a password is what the real service
// gets (from a file), so the engine's tests exercise that path, and a
// test that forgets the password fails as an installation would. Each
// database belongs to a role of its own (not a superuser), as an
// installation's would: a migration that needs a superuser fails here.
//
// initdb and pg_ctl refuse to run as root. When the tests run as root, the
// cluster runs as the system user postgres (Debian's package creates it):
// its files and socket directory are chowned to that user and its commands
// run with that user's uid and gid. Otherwise it runs as the current user.
//
// PostgreSQL missing is a failure, not a skip: `make test` installs it
// (the Makefile's pg-deps), and a test suite that silently skips its
// second storage engine proves nothing about it.
//
// If the test binary dies without returning from Main (a panic from go
// test's -timeout, a kill), the server outlives it; its directory is
// named candour-pgtest-* under the temporary directory, and
// `pg_ctl stop -D <dir>/data` ends it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Superuser is the name of the cluster's bootstrap superuser.
const Superuser = "postgres"

// port names the socket file (.s.PGSQL.<port>); nothing listens on TCP.
const port = 5432

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	root     string // private directory holding everything below
	dataDir  string
	sockDir  string
	logFile  string
	binDir   string
	password string // the superuser's
	cred     *syscall.Credential
	uid, gid int // owner of the files: postgres when run as root, else -1
}

var (
	mainRunning bool // set by Main: someone will stop the cluster
	once        sync.Once
	shared      *Cluster
	startErr    error
)

// Main runs the tests of m and then stops the shared cluster, if a test
// started one, and removes its directory. It returns m.Run's exit code
// (or 1 if the cluster would not stop). Start refuses to run without it,
// so that no test binary leaves a server behind.
func Main(m *testing.M) int {
	mainRunning = true
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Start returns the test binary's cluster, starting it the first time. It
// fails the test, with what went wrong, if PostgreSQL is not installed or
// will not start.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if !mainRunning {
		t.Fatal("pgtest: the test binary must run its tests through pgtest.Main (func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }), which stops the cluster")
	}
	once.Do(func() { shared, startErr = start("") })
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	return shared
}

// Stop stops the shared cluster (pg_ctl stop -m fast) if one was started,
// and removes its files. Main calls it; a TestMain that cannot use Main
// must call it after m.Run.
func Stop() error {
	if shared == nil {
		return nil
	}
	c := shared
	shared = nil
	return c.Stop()
}

// StartCluster starts a throwaway cluster of its own, as Start does for a
// test binary, for a program that is not a test (cmd/candour-bench): in a
// new directory candour-pgtest-* under parent (the system's temporary
// directory if parent is empty), so that a benchmark can put the database
// on the same disk as what it compares it with. The caller must call its
// Stop. It does not touch the test binary's shared cluster.
func StartCluster(parent string) (*Cluster, error) { return start(parent) }

// Stop stops c (pg_ctl stop -m fast) and removes its files.
func (c *Cluster) Stop() error {
	err := c.pgCtl("stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", waitSeconds)
	if err != nil {
		return fmt.Errorf("failed to stop PostgreSQL (its files stay in %s): %w", c.root, err)
	}
	if err := os.RemoveAll(c.root); err != nil {
		return fmt.Errorf("failed to remove the cluster's directory: %w", err)
	}
	return nil
}

// PostmasterPID is the process id of the cluster's postmaster (the first
// line of postmaster.pid): its server processes are its children.
func (c *Cluster) PostmasterPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// waitSeconds bounds pg_ctl's waits for the server to be ready or to stop.
// pg_ctl -w polls the server's own state and returns as soon as it is
// ready (or as soon as the postmaster exits); the bound is only there so
// that a wedged server ends the wait, and is generous for a busy machine.
const waitSeconds = "600"

// FindBin returns the directory that holds initdb and pg_ctl: pg_ctl's,
// if it is on PATH (symbolic links resolved: Debian keeps the programs in
// /usr/lib/postgresql/<version>/bin), else the highest version under
// /usr/lib/postgresql.
func FindBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var best string
	bestVersion := -1.0
	for _, d := range dirs {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		if v > bestVersion {
			best, bestVersion = d, v
		}
	}
	if best == "" {
		return "", errors.New("PostgreSQL is not installed: no initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin " +
			"(`make pg-deps`, or `make test`, installs Debian's postgresql package)")
	}
	return best, nil
}

func start(parent string) (*Cluster, error) {
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{binDir: bin, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and initdb refuses root: the cluster runs as the user postgres, which does not exist (Debian's postgresql package creates it): %w", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}
	}
	c.root, err = os.MkdirTemp(parent, "candour-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("failed to make the cluster's directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(c.root)
		}
	}()
	c.dataDir = filepath.Join(c.root, "data")
	c.sockDir = filepath.Join(c.root, "sock")
	c.logFile = filepath.Join(c.root, "server.log")
	if err := os.Mkdir(c.sockDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to make the socket directory: %w", err)
	}
	c.password, err = randomHex(24)
	if err != nil {
		return nil, err
	}
	pwFile := filepath.Join(c.root, "pwfile")
	if err := os.WriteFile(pwFile, []byte(c.password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write the password file: %w", err)
	}
	for _, p := range []string{c.root, c.sockDir, pwFile} {
		if err := c.own(p); err != nil {
			return nil, err
		}
	}
	// C locale and UTF-8: the same sort order and encoding on every
	// machine, whatever its environment's LANG.
	if err := c.run(filepath.Join(bin, "initdb"), "-D", c.dataDir, "-U", Superuser, "--pwfile", pwFile,
		"--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-instructions"); err != nil {
		return nil, err
	}
	if err := os.Remove(pwFile); err != nil {
		return nil, fmt.Errorf("failed to remove the password file: %w", err)
	}
	// Appended to the configuration file rather than passed through
	// pg_ctl -o, which would need shell quoting. Only where it listens
	// changes; everything else is PostgreSQL's default.
	conf := fmt.Sprintf("\n# pgtest\nlisten_addresses = ''\nunix_socket_directories = '%s'\nunix_socket_permissions = 0700\nport = %d\n",
		c.sockDir, port)
	f, err := os.OpenFile(filepath.Join(c.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("failed to configure the cluster: %w", err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("failed to configure the cluster: %w", err)
	}
	if err := c.pgCtl("start", "-D", c.dataDir, "-l", c.logFile, "-w", "-t", waitSeconds); err != nil {
		log, _ := os.ReadFile(c.logFile)
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	ok = true
	return c, nil
}

// own gives path to the server's user, when the tests run as root.
func (c *Cluster) own(path string) error {
	if c.cred == nil {
		return nil
	}
	if err := os.Chown(path, c.uid, c.gid); err != nil {
		return fmt.Errorf("failed to give %s to the user postgres: %w", path, err)
	}
	return nil
}

// run runs one of PostgreSQL's programs as the server's user, in the
// cluster's directory (a root-only working directory would be refused).
func (c *Cluster) run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *Cluster) pgCtl(args ...string) error {
	return c.run(filepath.Join(c.binDir, "pg_ctl"), args...)
}

// SocketDir is the directory of the server's Unix socket.
func (c *Cluster) SocketDir() string { return c.sockDir }

// DataDir is the cluster's data directory (for tests that read its files,
// such as a scan for plaintext).
func (c *Cluster) DataDir() string { return c.dataDir }

// dsn is the URL of database db for user and password, over the socket.
func (c *Cluster) dsn(user, password, db string) string {
	q := url.Values{"host": {c.sockDir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Path: "/" + db, RawQuery: q.Encode()}
	return u.String()
}

// SuperuserDSN is the URL of the cluster's postgres database as its
// superuser, for tests that must look at the cluster as a whole.
func (c *Cluster) SuperuserDSN() string { return c.dsn(Superuser, c.password, "postgres") }

// NewDatabase creates a database with a random name, owned by a new role
// (not a superuser) with a random password, and returns its URL
// (postgres://role:password@/name?host=<socket dir>…). At the end of the
// test the database and its role are dropped, whatever connections to it
// are still open.
func (c *Cluster) NewDatabase(t testing.TB) (dsn string) {
	t.Helper()
	dsn, drop, err := c.CreateDatabase(context.Background())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dsn
}

// CreateDatabase is NewDatabase for a program that is not a test: it
// creates the database and its role and returns the database's URL and
// the function that drops both, whatever connections to it are still
// open.
func (c *Cluster) CreateDatabase(ctx context.Context) (dsn string, drop func() error, err error) {
	suffix, err := randomHex(8)
	if err != nil {
		return "", nil, err
	}
	password, err := randomHex(24)
	if err != nil {
		return "", nil, err
	}
	name := "candour_test_" + suffix
	admin, err := pgx.Connect(ctx, c.SuperuserDSN())
	if err != nil {
		return "", nil, fmt.Errorf("failed to connect as the superuser: %w", err)
	}
	defer admin.Close(ctx)
	// Utility statements take no bound parameters: format() quotes the
	// name (%I) and the password (%L) on the server.
	for _, stmt := range []string{
		"CREATE ROLE %I LOGIN PASSWORD %L",
		"CREATE DATABASE %I OWNER %1$I",
		// Only its own role may connect to it: two tests' databases are
		// apart even if one of them has the other's URL but not its role.
		"REVOKE ALL ON DATABASE %1$I FROM PUBLIC",
	} {
		if err := execFormat(ctx, admin, stmt, name, password); err != nil {
			return "", nil, fmt.Errorf("failed to create database %s: %w", name, err)
		}
	}
	drop = func() error {
		ctx := context.WithoutCancel(ctx)
		admin, err := pgx.Connect(ctx, c.SuperuserDSN())
		if err != nil {
			return fmt.Errorf("failed to connect to drop database %s: %w", name, err)
		}
		defer admin.Close(ctx)
		for _, stmt := range []string{"DROP DATABASE %I WITH (FORCE)", "DROP ROLE %I"} {
			if err := execFormat(ctx, admin, stmt, name); err != nil {
				return fmt.Errorf("failed to drop database %s: %w", name, err)
			}
		}
		return nil
	}
	return c.dsn(name, password, name), drop, nil
}

// AlterDatabase gives the database of dsn (one NewDatabase made) a
// setting for its new sessions, as its superuser: ALTER DATABASE name SET
// setting, e.g. "log_statement = 'mod'". setting is the test's own text.
func (c *Cluster) AlterDatabase(t testing.TB, dsn, setting string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, c.SuperuserDSN())
	if err != nil {
		t.Fatalf("pgtest: failed to connect as the superuser: %v", err)
	}
	defer admin.Close(ctx)
	if err := execFormat(ctx, admin, "ALTER DATABASE %I SET "+setting, strings.TrimPrefix(u.Path, "/")); err != nil {
		t.Fatalf("pgtest: ALTER DATABASE SET %s: %v", setting, err)
	}
}

// execFormat runs the statement that format(stmt, args...) returns.
func execFormat(ctx context.Context, conn *pgx.Conn, stmt string, args ...string) error {
	q := "SELECT format($1::text"
	vals := []any{stmt}
	for i, a := range args {
		q += fmt.Sprintf(", $%d::text", i+2)
		vals = append(vals, a)
	}
	var formatted string
	if err := conn.QueryRow(ctx, q+")", vals...).Scan(&formatted); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, formatted)
	return err
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to draw random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Databases lists the databases of the cluster other than PostgreSQL's
// own (postgres, template0, template1), sorted: for tests that check what
// is left behind.
func (c *Cluster) Databases(ctx context.Context) ([]string, error) {
	conn, err := pgx.Connect(ctx, c.SuperuserDSN())
	if err != nil {
		return nil, fmt.Errorf("failed to connect as the superuser: %w", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database
		WHERE datname NOT IN ('postgres', 'template0', 'template1') ORDER BY datname`)
	if err != nil {
		return nil, fmt.Errorf("failed to list databases: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("failed to list databases: %w", err)
	}
	return names, nil
}
