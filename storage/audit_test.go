package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// mustAppendFive appends five entries, one a minute from staffNow.
func mustAppendFive(t *testing.T, db *storage.DB) []storage.AuditEntry {
	t.Helper()
	var out []storage.AuditEntry
	for i := range 5 {
		db.Now = fixedClock(staffNow.Add(time.Duration(i) * time.Minute))
		e, err := db.AppendAudit(context.Background(), storage.AuditEntry{
			Actor: "alice", Action: "case.open", Target: fmt.Sprintf("REF-%d", i+1), Detail: fmt.Sprintf("entry %d", i+1),
		})
		if err != nil {
			t.Fatalf("AppendAudit #%d: %v", i+1, err)
		}
		out = append(out, e)
	}
	return out
}

// rawExec runs statements directly on the database opened for dir, as
// someone with write access to it could. The append-only triggers are
// dropped first: they stop mistakes, not an attacker, and these tests play
// the attacker.
func rawExec(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	raw := openRawAt(t, dir)
	stmts = append([]string{
		dropTriggerSQL("audit_log_no_update", "audit_log"), dropTriggerSQL("audit_log_no_delete", "audit_log"),
		dropTriggerSQL("audit_head_no_delete", "audit_head"),
	}, stmts...)
	for _, q := range stmts {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
}

func TestAppendAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("five appended entries get ids 1 to 5, each linking to the one before, and verify", func(t *testing.T) {
		db := mustOpenDB(t)
		entries := mustAppendFive(t, db)
		prev := make([]byte, 32)
		for i, e := range entries {
			if e.ID != int64(i+1) {
				t.Errorf("entry %d: ID = %d", i+1, e.ID)
			}
			if !bytes.Equal(e.PrevHash, prev) {
				t.Errorf("entry %d: PrevHash = %x, want %x", e.ID, e.PrevHash, prev)
			}
			if len(e.Hash) != 32 || bytes.Equal(e.Hash, prev) {
				t.Errorf("entry %d: Hash = %x, want 32 new bytes", e.ID, e.Hash)
			}
			prev = e.Hash
		}
		if err := db.VerifyAudit(ctx); err != nil {
			t.Errorf("VerifyAudit: %v", err)
		}
	})

	t.Run("an empty trail verifies", func(t *testing.T) {
		if err := mustOpenDB(t).VerifyAudit(ctx); err != nil {
			t.Errorf("VerifyAudit on a fresh database: %v", err)
		}
	})

	t.Run("the log stamps At from db.Now to the second in UTC and ignores the caller's id, time and hashes", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(time.Date(2024, 3, 1, 13, 0, 0, 999_000_000, time.FixedZone("CET", 3600)))
		e, err := db.AppendAudit(ctx, storage.AuditEntry{
			ID: 77, At: time.Unix(0, 0), Actor: "system", Action: "boot", PrevHash: []byte("x"), Hash: []byte("y"),
		})
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		if e.ID != 1 || !e.At.Equal(staffNow) || e.At.Location() != time.UTC || !bytes.Equal(e.PrevHash, make([]byte, 32)) {
			t.Errorf("AppendAudit = %+v, want ID 1, At %v UTC, zero PrevHash", e, staffNow)
		}
		page, _, err := db.AuditPage(ctx, 0, 10)
		if err != nil || len(page) != 1 || !page[0].At.Equal(staffNow) || !bytes.Equal(page[0].Hash, e.Hash) {
			t.Errorf("AuditPage = %+v, %v; want the appended entry", page, err)
		}
	})

	for _, e := range []storage.AuditEntry{{Action: "x"}, {Actor: "x"}} {
		t.Run(fmt.Sprintf("an entry without an actor or action (%+v) is refused", e), func(t *testing.T) {
			db := mustOpenDB(t)
			if _, err := db.AppendAudit(ctx, e); err == nil {
				t.Fatal("AppendAudit succeeded, want an error")
			}
			if _, total, _ := db.AuditPage(ctx, 0, 10); total != 0 {
				t.Errorf("total = %d after a refused append, want 0", total)
			}
		})
	}

	// The hash is SHA-256 over these fields, each as a uvarint length and
	// then its bytes: "candour-audit-v1", ID and At (unix seconds) as 8-byte
	// big-endian, Actor, Action, Target, Detail, PrevHash. Every field here is
	// shorter than 128 bytes, so each length is the single byte len(field).
	// The expected hex was computed outside Go (Python hashlib) from the same
	// description, so a change to the encoding breaks this test.
	t.Run("the hash of an entry is SHA-256 of its length-prefixed fields, as documented", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(staffNow)
		e, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: "alice", Action: "case.open", Target: "REF-1", Detail: "opened"})
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		var enc []byte
		for _, f := range [][]byte{
			[]byte("candour-audit-v1"),
			binary.BigEndian.AppendUint64(nil, 1),
			binary.BigEndian.AppendUint64(nil, uint64(staffNow.Unix())),
			[]byte("alice"), []byte("case.open"), []byte("REF-1"), []byte("opened"),
			make([]byte, 32),
		} {
			enc = append(append(enc, byte(len(f))), f...)
		}
		sum := sha256.Sum256(enc)
		const golden = "9a11b5e342a0bfea7f112ec712fa5027be8ffe0af5cb11e8083075dbc4138446"
		if hex.EncodeToString(sum[:]) != golden {
			t.Fatalf("the test's own encoding hashes to %x, want %s", sum, golden)
		}
		if hex.EncodeToString(e.Hash) != golden {
			t.Errorf("AppendAudit Hash = %x, want %s", e.Hash, golden)
		}
	})

	t.Run("moving a byte between two fields changes the hash", func(t *testing.T) {
		a, b := mustOpenDB(t), mustOpenDB(t)
		a.Now, b.Now = fixedClock(staffNow), fixedClock(staffNow)
		ea, err1 := a.AppendAudit(ctx, storage.AuditEntry{Actor: "ab", Action: "c"})
		eb, err2 := b.AppendAudit(ctx, storage.AuditEntry{Actor: "a", Action: "bc"})
		if err1 != nil || err2 != nil {
			t.Fatalf("AppendAudit: %v, %v", err1, err2)
		}
		if bytes.Equal(ea.Hash, eb.Hash) {
			t.Error(`("ab", "c") and ("a", "bc") hash the same`)
		}
	})

	t.Run("the log refuses UPDATE and DELETE made through SQL", func(t *testing.T) {
		db, dir := mustOpenDBDir(t)
		mustAppendFive(t, db)
		raw := openRawAt(t, dir)
		for _, q := range []string{
			`UPDATE audit_log SET detail = 'x' WHERE id = 1`,
			`DELETE FROM audit_log WHERE id = 5`,
			`DELETE FROM audit_head`,
		} {
			if _, err := raw.Exec(q); err == nil || !strings.Contains(err.Error(), "audit") {
				t.Errorf("%s: err = %v, want the append-only trigger's error", q, err)
			}
		}
		if err := db.VerifyAudit(ctx); err != nil {
			t.Errorf("VerifyAudit after refused tampering: %v", err)
		}
	})
}

func TestVerifyAuditDetectsTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// swap exchanges every column but id between entries a and b.
	swap := func(a, b int, cols string) []string {
		return []string{
			fmt.Sprintf(`CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE id IN (%d, %d)`, a, b),
			fmt.Sprintf(`UPDATE audit_log SET (%[1]s) = (SELECT %[1]s FROM t WHERE t.id = %[3]d) WHERE id = %[2]d`, cols, a, b),
			fmt.Sprintf(`UPDATE audit_log SET (%[1]s) = (SELECT %[1]s FROM t WHERE t.id = %[2]d) WHERE id = %[3]d`, cols, a, b),
		}
	}
	fixed := func(stmts ...string) func([]storage.AuditEntry) []string {
		return func([]storage.AuditEntry) []string { return stmts }
	}
	for _, tc := range []struct {
		name   string
		stmts  func(entries []storage.AuditEntry) []string
		id     int64
		reason string
	}{
		{"editing an entry's detail breaks its hash",
			fixed(`UPDATE audit_log SET detail = 'nothing to see' WHERE id = 3`), 3, "hash does not match"},
		{"editing an entry's time breaks its hash",
			fixed(`UPDATE audit_log SET at = at - 3600 WHERE id = 2`), 2, "hash does not match"},
		{"editing an entry and recomputing its hash breaks the link from the next one",
			func(entries []storage.AuditEntry) []string {
				e := entries[2]
				e.Detail = "rewritten"
				return []string{fmt.Sprintf(`UPDATE audit_log SET detail = 'rewritten', hash = %s WHERE id = 3`, bytesSQL(sha256Of(encodeForTest(e))))}
			}, 4, "does not link"},
		{"deleting a middle entry leaves a gap in the ids",
			fixed(`DELETE FROM audit_log WHERE id = 3`), 4, "not consecutive"},
		{"deleting the first entry leaves a gap in the ids",
			fixed(`DELETE FROM audit_log WHERE id = 1`), 2, "not consecutive"},
		{"swapping two entries' contents (reordering them) is detected",
			fixed(swap(2, 3, "at, actor, action, target, detail, prev_hash, hash")...), 2, ""},
		{"swapping two entries' contents but not their hashes breaks the hashes",
			fixed(swap(2, 3, "at, actor, action, target, detail")...), 2, "hash does not match"},
		{"deleting the newest entry and leaving the head is detected by the head",
			fixed(`DELETE FROM audit_log WHERE id = 5`), 5, "head does not match"},
		{"deleting every entry is detected by the head",
			fixed(`DELETE FROM audit_log`), 5, "head does not match"},
		{"a well-formed entry added behind the package's back is detected by the head",
			func(entries []storage.AuditEntry) []string {
				e := storage.AuditEntry{ID: 6, At: entries[4].At, Actor: "mallory", Action: "case.open", PrevHash: entries[4].Hash}
				return []string{fmt.Sprintf(`INSERT INTO audit_log VALUES (6, %d, 'mallory', 'case.open', '', '', %s, %s)`,
					e.At.Unix(), bytesSQL(e.PrevHash), bytesSQL(sha256Of(encodeForTest(e))))}
			}, 6, "head does not match"},
		{"deleting the head is detected",
			fixed(`DELETE FROM audit_head`), 0, "head is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, dir := mustOpenDBDir(t)
			stmts := tc.stmts(mustAppendFive(t, db))
			rawExec(t, dir, stmts...)
			err := db.VerifyAudit(ctx)
			var ae *storage.AuditError
			if !errors.As(err, &ae) {
				t.Fatalf("VerifyAudit = %v, want an *AuditError", err)
			}
			if ae.ID != tc.id || !strings.Contains(ae.Reason, tc.reason) {
				t.Errorf("VerifyAudit = %v (ID %d), want ID %d and a reason containing %q", err, ae.ID, tc.id, tc.reason)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tc.id)) {
				t.Errorf("Error() = %q does not name entry %d", err, tc.id)
			}
		})
	}
}

func sha256Of(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// encodeForTest is the documented encoding (see the golden test above) for
// entries whose fields are all shorter than 128 bytes.
func encodeForTest(e storage.AuditEntry) []byte {
	var enc []byte
	for _, f := range [][]byte{
		[]byte("candour-audit-v1"),
		binary.BigEndian.AppendUint64(nil, uint64(e.ID)),
		binary.BigEndian.AppendUint64(nil, uint64(e.At.Unix())),
		[]byte(e.Actor), []byte(e.Action), []byte(e.Target), []byte(e.Detail), e.PrevHash,
	} {
		enc = append(append(enc, byte(len(f))), f...)
	}
	return enc
}

func TestAuditPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	entries := mustAppendFive(t, db)
	for _, tc := range []struct {
		name          string
		offset, limit int
		wantIDs       []int64
	}{
		{"the first page holds the newest entries first", 0, 2, []int64{5, 4}},
		{"the next page continues downwards", 2, 2, []int64{3, 2}},
		{"the last page is short", 4, 2, []int64{1}},
		{"a page past the end is empty", 5, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, total, err := db.AuditPage(ctx, tc.offset, tc.limit)
			if err != nil {
				t.Fatalf("AuditPage: %v", err)
			}
			if total != 5 {
				t.Errorf("total = %d, want 5", total)
			}
			var ids []int64
			for _, e := range page {
				ids = append(ids, e.ID)
				want := entries[e.ID-1]
				if e.Actor != want.Actor || e.Action != want.Action || e.Target != want.Target || e.Detail != want.Detail ||
					!e.At.Equal(want.At) || !bytes.Equal(e.PrevHash, want.PrevHash) || !bytes.Equal(e.Hash, want.Hash) {
					t.Errorf("entry %d = %+v, want %+v", e.ID, e, want)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.wantIDs) {
				t.Errorf("ids = %v, want %v", ids, tc.wantIDs)
			}
		})
	}
}
