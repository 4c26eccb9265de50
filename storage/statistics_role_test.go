package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

// Migration 0021 widens the staff table's role check in place: accounts,
// their sessions and channel memberships survive it, the file is sound,
// and the new role can be stored, by this connection and the next.
func TestMigrationAddsTheStatisticsRoleAndKeepsTheStaff(t *testing.T) {
	sqliteOnly(t, "a migration of an old SQLite schema")
	t.Parallel()
	dir := t.TempDir()
	raw := migratedTo(t, dir, 19)
	for _, q := range []string{
		`PRAGMA user_version = 19`,
		`INSERT INTO staff (id, username, role, created_at, updated_at) VALUES (5, 'veteran', 'caseworker', 0, 0)`,
		`INSERT INTO staff_sessions (token_hash, staff_id, csrf, created_at, last_seen) VALUES (x'01', 5, 'c', 0, 0)`,
		`INSERT INTO channel_members (channel_id, staff_id) VALUES (1, 5)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := raw.Exec(`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('early', 'statistics', 0, 0)`); err == nil {
		t.Fatal("before the migration, the statistics role was accepted")
	}
	raw.Close()

	db := mustOpenDBAt(t, dir)
	ctx := context.Background()
	must(t, db.IntegrityCheck(ctx))
	if ok, err := db.IsChannelMember(ctx, storage.DefaultChannel, 5); err != nil || !ok {
		t.Errorf("the veteran left the default channel: %v %v", ok, err)
	}
	if _, err := db.StaffSessionByToken(ctx, []byte{1}); err != nil {
		t.Errorf("the veteran's session is gone: %v", err)
	}
	st := mustCreateStaff(t, db, "counter", storage.RoleStatistics)
	if got := mustStaff(t, db, st.ID); got.Role != storage.RoleStatistics {
		t.Errorf("stored role %q", got.Role)
	}
	db.Close()

	// A fresh connection reads the widened check too, and still enforces it.
	raw = openRaw(t, dir+"/"+storage.FileName)
	if _, err := raw.Exec(`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('later', 'statistics', 0, 0)`); err != nil {
		t.Errorf("a new connection refuses the statistics role: %v", err)
	}
	if _, err := raw.Exec(`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('boss', 'owner', 0, 0)`); err == nil {
		t.Error("an unknown role was accepted")
	}
	var def string
	must(t, raw.QueryRow(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'staff'`).Scan(&def))
	if !strings.Contains(def, `CHECK (role IN ('admin', 'caseworker', 'statistics'))`) {
		t.Errorf("staff table definition:\n%s", def)
	}
}

// A statistics account is in no channel, even when the installation has
// only one (where everyone else joins it), cannot be put in one, nor made
// a custodian.
func TestStatisticsAccountHasNoChannelNorCustody(t *testing.T) {
	t.Parallel()
	db, dir := mustOpenDBDir(t)
	ctx := context.Background()
	worker := mustCreateStaff(t, db, "worker", storage.RoleCaseworker)
	counter := mustCreateStaff(t, db, "counter", storage.RoleStatistics)
	if ok, _ := db.IsChannelMember(ctx, storage.DefaultChannel, worker.ID); !ok {
		t.Fatal("the caseworker is not in the only channel")
	}
	if ok, _ := db.IsChannelMember(ctx, storage.DefaultChannel, counter.ID); ok {
		t.Error("the statistics account is in the only channel")
	}
	if err := db.AddChannelMember(ctx, storage.DefaultChannel, counter.ID); !errors.Is(err, storage.ErrStatisticsOnly) {
		t.Errorf("AddChannelMember: %v, want ErrStatisticsOnly", err)
	}
	if ok, _ := db.IsChannelMember(ctx, storage.DefaultChannel, counter.ID); ok {
		t.Error("the statistics account was added to the channel")
	}
	if err := db.SetStaffCustodian(ctx, counter.ID, true); !errors.Is(err, storage.ErrStatisticsOnly) {
		t.Errorf("SetStaffCustodian: %v, want ErrStatisticsOnly", err)
	}
	if got := mustStaff(t, db, counter.ID); got.Custodian {
		t.Error("the statistics account became a custodian")
	}
	if err := db.SetStaffCustodian(ctx, counter.ID, false); err != nil {
		t.Errorf("removing a custody it does not have: %v", err)
	}
	if _, err := db.CreateStaff(ctx, "someone", "owner"); err == nil {
		t.Error("an unknown role was accepted")
	}
	// The database refuses the membership even behind the package's back.
	raw := openRawAt(t, dir)
	if _, err := raw.Exec(`INSERT INTO channel_members (channel_id, staff_id) VALUES ($1, $2)`, storage.DefaultChannel, counter.ID); err == nil ||
		!strings.Contains(err.Error(), "statistics account") {
		t.Errorf("a raw insert of the membership: %v", err)
	}
}
