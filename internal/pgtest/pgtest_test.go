package pgtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"os/user"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/candour/candour/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestThreeMiBOfByteaComeBackIdentical(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	ctx := context.Background()
	want := make([]byte, 3<<20)
	rand.Read(want)

	// Through database/sql, as the storage engine will use it.
	db := openSQL(t, dsn)
	if _, err := db.ExecContext(ctx, `CREATE TABLE blobs (id BIGINT PRIMARY KEY, data BYTEA NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO blobs (id, data) VALUES ($1, $2)`, 1, want); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := db.QueryRowContext(ctx, `SELECT data FROM blobs WHERE id = $1`, 1).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("database/sql read back %d bytes that differ from the %d written", len(got), len(want))
	}

	// Through pgx directly: the same row, and its size as the server counts it.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var size int64
	got = nil
	if err := conn.QueryRow(ctx, `SELECT data, octet_length(data) FROM blobs WHERE id = $1`, 1).Scan(&got, &size); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || size != int64(len(want)) {
		t.Fatalf("pgx read back %d bytes (server: %d) that differ from the %d written", len(got), size, len(want))
	}
}

func TestDatabasesAreApart(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	a, b := c.NewDatabase(t), c.NewDatabase(t)
	if a == b {
		t.Fatal("two calls gave the same database")
	}
	ctx := context.Background()
	if _, err := openSQL(t, a).ExecContext(ctx, `CREATE TABLE only_in_a (x BIGINT)`); err != nil {
		t.Fatal(err)
	}
	var found *string
	if err := openSQL(t, b).QueryRowContext(ctx, `SELECT to_regclass('only_in_a')::text`).Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found != nil {
		t.Fatalf("a table made in one database is seen in the other as %s", *found)
	}

	// a's role, with its own password, may not connect to b's database.
	ua, err := url.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	ub, err := url.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	ua.Path = ub.Path
	if err := openSQL(t, ua.String()).PingContext(ctx); err == nil {
		t.Fatal("one test's role connected to another test's database")
	}
}

func TestAPasswordIsRequired(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := openSQL(t, dsn).PingContext(ctx); err != nil {
		t.Fatalf("the database's own URL does not connect: %v", err)
	}
	for name, userinfo := range map[string]*url.Userinfo{
		"a wrong password": url.UserPassword(u.User.Username(), "not-the-password"),
		"no password":      url.User(u.User.Username()),
	} {
		v := *u
		v.User = userinfo
		if err := openSQL(t, v.String()).PingContext(ctx); err == nil {
			t.Errorf("connected with %s", name)
		}
	}
}

func TestServerSettings(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	db := openSQL(t, c.NewDatabase(t))
	for setting, want := range map[string]string{
		"listen_addresses":    "",   // the Unix socket only
		"fsync":               "on", // PostgreSQL's defaults: durable
		"synchronous_commit":  "on",
		"password_encryption": "scram-sha-256",
		"is_superuser":        "off", // a test's role is not a superuser
	} {
		var got string
		if err := db.QueryRow(`SELECT current_setting($1)`, setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
}

func TestSocketDirIsPrivate(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	for _, dir := range []string{c.SocketDir(), c.DataDir()} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v: others may enter it", dir, perm)
		}
		owner := fi.Sys().(*syscall.Stat_t).Uid
		wantOwner := os.Geteuid()
		if wantOwner == 0 {
			u, err := user.Lookup("postgres")
			if err != nil {
				t.Fatal(err)
			}
			wantOwner, _ = strconv.Atoi(u.Uid)
		}
		if int(owner) != wantOwner {
			t.Errorf("%s belongs to uid %d, want %d (the server's user)", dir, owner, wantOwner)
		}
	}
}

func TestADatabaseIsDroppedAtTheEndOfItsTest(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	var name string
	t.Run("make one", func(t *testing.T) {
		u, err := url.Parse(c.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		name = u.Path[1:]
		dbs, err := c.Databases(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(dbs, name) {
			t.Fatalf("database %s is not in the cluster's list %v", name, dbs)
		}
	})
	dbs, err := c.Databases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(dbs, name) {
		t.Fatalf("database %s is still there after its test", name)
	}
}
