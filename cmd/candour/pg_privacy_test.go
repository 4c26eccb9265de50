package main_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/candour/candour/internal/pgtest"
)

// TestServeRefusesAPostgresThatLogsEveryReport sets, as a superuser would
// for Candour's database, PostgreSQL to log every writing statement:
// `candour serve` refuses to start, naming the setting and its fix, and
// never answers. With only slow statements logged, it starts and warns.
func TestServeRefusesAPostgresThatLogsEveryReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster := pgtest.Start(t)
	dsn := cluster.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	su, err := pgx.Connect(ctx, cluster.SuperuserDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(ctx)
	alter := func(setting string) {
		t.Helper()
		// The name is the test's own, made of [a-z0-9_].
		if _, err := su.Exec(ctx, `ALTER DATABASE "`+name+`" SET `+setting); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")

	alter("log_statement = 'mod'")
	out := candourFails(t, []string{"CANDOUR_DATABASE=" + dsn}, "serve", "--addr", freeAddr(t), "--data", data,
		"--recipients", recipients, "--kdf-memory-mib", "8", "--kdf-time", "1")
	for _, want := range []string{"refusing to serve", "log_statement = mod", "set none"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve's refusal does not say %q:\n%s", want, out)
		}
	}

	alter("log_statement = 'none'")
	alter("log_min_duration_statement = '2s'")
	_, logs := servePostgres(t, dsn, data, recipients)
	if l := logs(); !strings.Contains(l, "PostgreSQL records when some reports came") || !strings.Contains(l, "setting=log_min_duration_statement value=2000") {
		t.Errorf("serve's log does not warn of log_min_duration_statement:\n%s", l)
	}
}
