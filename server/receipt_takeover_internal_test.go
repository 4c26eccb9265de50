package server

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// pgInstanceClass is the first key of an instance's advisory lock
// (storage/instances.go).
const pgInstanceClass = 0x63616e69

// On PostgreSQL, a repeat of a form whose attempt in flight belongs to an
// instance that died (its lock connection ended for real, as kill -9 ends
// it) takes the claim over as soon as the database has ended that session
// and goes on as the report, while the repeat of a form whose instance
// lives waits for it and is answered busy at its bound, before and after
// the other's death. The attempt of the dead instance can keep nothing.
// The repeat's bound of two minutes is only a hang guard: were the claim
// not taken over, it would end in errBusy, not in the claim.
func TestReceiptClaimOfADeadInstanceIsTakenOver(t *testing.T) {
	t.Parallel()
	if os.Getenv("CANDOUR_TEST_ENGINE") != string(storage.EnginePostgres) {
		t.Skip("several instances share one database only on PostgreSQL (CANDOUR_TEST_ENGINE=postgres)")
	}
	ctx := context.Background()
	dsn := pgtest.Start(t).NewDatabase(t)
	open := func() *dbReceipts {
		db, err := storage.OpenPostgres(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return &dbReceipts{db: db, claimFor: time.Hour, log: slog.New(slog.DiscardHandler)}
	}
	dying, other := open(), open()
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	tokLive, hLive := testFormToken(t)
	tokDead, hDead := testFormToken(t)
	_, liveClaim, err := other.enter(ctx, tokLive, hLive, time.Minute)
	if err != nil || liveClaim == nil {
		t.Fatalf("first attempt: %v %v", liveClaim, err)
	}
	defer liveClaim.drop()
	_, deadClaim, err := dying.enter(ctx, tokDead, hDead, time.Minute)
	if err != nil || deadClaim == nil {
		t.Fatalf("first attempt: %v %v", deadClaim, err)
	}
	if _, _, err := dying.enter(ctx, tokLive, hLive, 300*time.Millisecond); err != errBusy {
		t.Fatalf("a repeat of a live instance's attempt: %v, want errBusy", err)
	}

	// The dying instance's lock connection ends for real.
	id := dying.db.InstanceID()
	var pid int64
	err = raw.QueryRowContext(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 2`, int64(pgInstanceClass), id).Scan(&pid)
	if err != nil {
		t.Fatalf("the backend holding instance %d's lock: %v", id, err)
	}
	var ok bool
	if err := raw.QueryRowContext(ctx, `SELECT pg_terminate_backend($1::integer)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d): %v %v", pid, ok, err)
	}

	// Without waiting for the claim's hour: the repeat polls until the
	// session is gone, then takes the claim over.
	rec, claim, err := other.enter(ctx, tokDead, hDead, 2*time.Minute)
	if err != nil || rec != nil || claim == nil {
		t.Fatalf("the repeat of the dead instance's attempt got %+v, %v, %v; want the claim", rec, claim, err)
	}
	if _, _, err := other.enter(ctx, tokLive, hLive, 300*time.Millisecond); err != errBusy {
		t.Fatalf("a repeat of a live instance's attempt, after the other's death: %v, want errBusy", err)
	}
	deadClaim.keep(receipt{Code: "DEAD-DEAD-DEAD-DEAD-DEAD", Channel: "Police"}) // refused: taken over
	claim.keep(receipt{Code: "ABCD-EFGH-JKMN-PQRS-TVWX", Channel: "Police"})
	if rec, claim, err := other.enter(ctx, tokDead, hDead, time.Minute); err != nil || claim != nil || rec == nil || rec.Code != "ABCD-EFGH-JKMN-PQRS-TVWX" {
		t.Fatalf("a later repeat got %+v, %v, %v; want the receipt of the attempt that took over", rec, claim, err)
	}
}
