package pgtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/candour/candour/internal/pgtest"
)

// TestStartClusterOutsideTests drives the entry points for programs that
// are not tests (cmd/candour-bench): a cluster of its own in the directory
// given, apart from the test binary's shared one, whose databases are
// created and dropped by hand, and which Stop ends and removes.
func TestStartClusterOutsideTests(t *testing.T) {
	// The cluster's directory is made in parent, which must let the
	// postgres user through (when the tests run as root), as TMPDIR does:
	// t.TempDir's parent does not.
	parent, err := os.MkdirTemp("", "pgtest-parent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := pgtest.StartCluster(parent)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop()
		}
	})
	if dir, err := filepath.Rel(parent, c.DataDir()); err != nil || !filepath.IsLocal(dir) {
		t.Fatalf("the data directory %s is not under %s", c.DataDir(), parent)
	}
	if shared := pgtest.Start(t); shared.DataDir() == c.DataDir() {
		t.Fatal("StartCluster returned the test binary's shared cluster")
	}
	pid, err := c.PostmasterPID()
	if err != nil {
		t.Fatal(err)
	}
	if !postmasterRunning(pid) {
		t.Fatalf("the postmaster %d is not running", pid)
	}

	ctx := context.Background()
	dsn, drop, err := c.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := openSQL(t, dsn)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id BIGINT PRIMARY KEY)`); err != nil {
		t.Fatalf("the new database's own role cannot create a table: %v", err)
	}
	names, err := c.Databases(ctx)
	if err != nil || len(names) != 1 {
		t.Fatalf("databases after CreateDatabase: %v, %v; want one", names, err)
	}
	if err := drop(); err != nil {
		t.Fatalf("drop, with a connection still open: %v", err)
	}
	if names, err := c.Databases(ctx); err != nil || len(names) != 0 {
		t.Fatalf("databases after drop: %v, %v; want none", names, err)
	}

	root := filepath.Dir(c.DataDir())
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the cluster's directory %s is still there after Stop: %v", root, err)
	}
	if postmasterRunning(pid) {
		t.Fatalf("the postmaster %d still runs after Stop", pid)
	}
}

// postmasterRunning reports whether process pid exists and is not a zombie (the
// postmaster's parent, pg_ctl, has exited: whoever inherits it may be
// slow to reap it).
func postmasterRunning(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}
