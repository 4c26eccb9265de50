package storage_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

func TestWrappedIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	sam := mustCreateStaff(t, db, "sam", storage.RoleCaseworker)
	kim := mustCreateStaff(t, db, "kim", storage.RoleCaseworker)

	t.Run("an account without one has none", func(t *testing.T) {
		if _, err := db.WrappedIdentity(ctx, sam.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("WrappedIdentity: err = %v, want ErrNotFound", err)
		}
		if has, err := db.HasWrappedIdentity(ctx, sam.ID); err != nil || has {
			t.Errorf("HasWrappedIdentity = %t, %v; want false", has, err)
		}
		if err := db.RemoveWrappedIdentity(ctx, sam.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("RemoveWrappedIdentity: err = %v, want ErrNotFound", err)
		}
	})

	first := storage.WrappedIdentity{File: fakeAge("first"), Hint: "AGE-PLUGIN-FIDO2PRF-1XYZ"}
	t.Run("a stored one comes back to its owner only", func(t *testing.T) {
		if err := db.SetWrappedIdentity(ctx, sam.ID, first); err != nil {
			t.Fatalf("SetWrappedIdentity: %v", err)
		}
		got, err := db.WrappedIdentity(ctx, sam.ID)
		if err != nil || !bytes.Equal(got.File, first.File) || got.Hint != first.Hint || got.Created.IsZero() {
			t.Errorf("WrappedIdentity = %+v, %v; want %+v", got, err, first)
		}
		if has, _ := db.HasWrappedIdentity(ctx, sam.ID); !has {
			t.Error("HasWrappedIdentity = false after storing one")
		}
		if _, err := db.WrappedIdentity(ctx, kim.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("another account's WrappedIdentity: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("a new one replaces the old", func(t *testing.T) {
		second := storage.WrappedIdentity{File: fakeAge("second")}
		if err := db.SetWrappedIdentity(ctx, sam.ID, second); err != nil {
			t.Fatalf("SetWrappedIdentity: %v", err)
		}
		got, err := db.WrappedIdentity(ctx, sam.ID)
		if err != nil || !bytes.Equal(got.File, second.File) || got.Hint != "" {
			t.Errorf("WrappedIdentity = %+v, %v; want the second, without a hint", got, err)
		}
	})

	t.Run("files and hints outside the limits are refused", func(t *testing.T) {
		for name, w := range map[string]storage.WrappedIdentity{
			"empty":         {},
			"too large":     {File: bytes.Repeat([]byte{'a'}, storage.MaxWrappedIdentity+1)},
			"hint too long": {File: fakeAge("x"), Hint: strings.Repeat("A", storage.MaxWrappedIdentityHint+1)},
		} {
			if err := db.SetWrappedIdentity(ctx, kim.ID, w); err == nil {
				t.Errorf("%s: SetWrappedIdentity succeeded", name)
			}
		}
		if has, _ := db.HasWrappedIdentity(ctx, kim.ID); has {
			t.Error("a refused wrapped identity was stored")
		}
		if err := db.SetWrappedIdentity(ctx, kim.ID, storage.WrappedIdentity{File: bytes.Repeat([]byte{'a'}, storage.MaxWrappedIdentity)}); err != nil {
			t.Errorf("a file of exactly the limit: %v", err)
		}
	})

	t.Run("removing it leaves the other account's", func(t *testing.T) {
		if err := db.RemoveWrappedIdentity(ctx, sam.ID); err != nil {
			t.Fatalf("RemoveWrappedIdentity: %v", err)
		}
		if has, _ := db.HasWrappedIdentity(ctx, sam.ID); has {
			t.Error("HasWrappedIdentity = true after removal")
		}
		if has, _ := db.HasWrappedIdentity(ctx, kim.ID); !has {
			t.Error("removing sam's removed kim's")
		}
	})
}

// A reset of the account's credentials drops the wrapped identity: nothing
// of the old credentials stays usable.
func TestResetStaffCredentialsDropsWrappedIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	s := mustEnrol(t, db, mustCreateStaff(t, db, "sam", storage.RoleCaseworker), 500)
	other := mustCreateStaff(t, db, "kim", storage.RoleCaseworker)
	for _, id := range []int64{s.ID, other.ID} {
		if err := db.SetWrappedIdentity(ctx, id, storage.WrappedIdentity{File: fakeAge("w")}); err != nil {
			t.Fatalf("SetWrappedIdentity: %v", err)
		}
	}
	if err := db.ResetStaffCredentials(ctx, s.ID); err != nil {
		t.Fatalf("ResetStaffCredentials: %v", err)
	}
	if has, _ := db.HasWrappedIdentity(ctx, s.ID); has {
		t.Error("the wrapped identity survived the reset")
	}
	if has, _ := db.HasWrappedIdentity(ctx, other.ID); !has {
		t.Error("another account's wrapped identity went with the reset")
	}
}

// Migration 0025 adds the table to a database made by a release before it,
// whose staff keep everything they had.
func TestWrappedIdentityMigration(t *testing.T) {
	sqliteOnly(t, "a migration of an old SQLite schema")
	t.Parallel()
	dir := t.TempDir()
	raw := migratedTo(t, dir, 23)
	if _, err := raw.Exec(`INSERT INTO staff (username, role, created_at, updated_at) VALUES ('old', 'caseworker', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA user_version = 23`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db := mustOpenDBAt(t, dir)
	ctx := context.Background()
	old, err := db.StaffByUsername(ctx, "old")
	if err != nil {
		t.Fatalf("StaffByUsername after migration: %v", err)
	}
	if err := db.SetWrappedIdentity(ctx, old.ID, storage.WrappedIdentity{File: fakeAge("w")}); err != nil {
		t.Fatalf("SetWrappedIdentity after migration: %v", err)
	}
}
