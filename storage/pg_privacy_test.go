package storage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// TestCheckPostgresPrivacy sets, as a superuser would for one database,
// the settings that make PostgreSQL log statements with their time, and
// checks what CheckPostgresPrivacy makes of each: refused when every
// report would be recorded, a warning when only some would, nothing with
// PostgreSQL's defaults. (track_commit_timestamp needs a restart of the
// cluster: internal/pgtest's TestGuideCommitTimestampsAreRefused.) It runs
// on PostgreSQL whatever engine the suite uses; on SQLite the check
// returns nothing.
func TestCheckPostgresPrivacy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster := pgtest.Start(t)
	dsn := cluster.NewDatabase(t)

	check := func(settings ...string) (refused, warned []string) {
		t.Helper()
		for _, s := range settings {
			cluster.AlterDatabase(t, dsn, s)
		}
		db, err := storage.OpenPostgres(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		r, w, err := db.CheckPostgresPrivacy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r {
			refused = append(refused, s.Name+"="+s.Value)
		}
		for _, s := range w {
			warned = append(warned, s.Name+"="+s.Value)
		}
		return refused, warned
	}
	same := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}

	r, w := check()
	same("refused with the defaults", r)
	same("warned of with the defaults", w)

	r, w = check("log_statement = 'ddl'", "log_min_duration_statement = '250ms'", "log_transaction_sample_rate = 0.01")
	same("refused, slow statements and a sample logged", r)
	same("warned of, slow statements and a sample logged", w, "log_min_duration_statement=250", "log_transaction_sample_rate=0.01")

	r, _ = check("log_statement = 'mod'", "log_min_duration_statement = 0", "log_transaction_sample_rate = 1")
	same("refused, every write logged", r, "log_statement=mod", "log_min_duration_statement=0", "log_transaction_sample_rate=1")

	if db := mustOpenDB(t); testEngine() == storage.EngineSQLite {
		if r, w, err := db.CheckPostgresPrivacy(ctx); err != nil || r != nil || w != nil {
			t.Errorf("on SQLite: %v, %v, %v; want nothing", r, w, err)
		}
	}
}
