package main_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/candour/candour/internal/pgtest"
)

// TestServeRefusesAPostgresThatLogsEveryReport sets, as a superuser would
// for Candour's database, PostgreSQL to log every writing statement:
// `candour serve` refuses to start, naming the setting and its fix, and
// never answers. With only slow statements logged, it starts and warns.
func TestServeRefusesAPostgresThatLogsEveryReport(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Start(t)
	dsn := cluster.NewDatabase(t)
	alter := func(setting string) { cluster.AlterDatabase(t, dsn, setting) }
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
