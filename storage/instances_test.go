package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/storage"
)

// exclusivePair is two handles that Exclusive must keep apart: two
// instances on one PostgreSQL database, or on SQLite (one instance) the
// one handle twice.
func exclusivePair(t *testing.T) (a, b *storage.DB, dir string) {
	t.Helper()
	dir = t.TempDir()
	a = mustOpenDBAt(t, dir)
	if testEngine() == storage.EnginePostgres {
		return a, mustOpenDBAt(t, dir), dir
	}
	return a, a, dir
}

// holdExclusive runs Exclusive(name) on db in a goroutine with a job that
// waits for release; it returns once the job has started, and the channel
// that receives Exclusive's result when it ends.
func holdExclusive(t *testing.T, db *storage.DB, name string, release <-chan struct{}) <-chan error {
	t.Helper()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		ran, err := db.Exclusive(context.Background(), name, func(ctx context.Context) error {
			close(started)
			<-release
			return nil
		})
		if err == nil && !ran {
			err = errors.New("the holder did not run")
		}
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Exclusive(%s) ended before its job started: %v", name, err)
	}
	return done
}

// mustRun runs Exclusive(name) on db with a job that records it ran.
func mustRun(t *testing.T, db *storage.DB, name string) bool {
	t.Helper()
	called := false
	ran, err := db.Exclusive(context.Background(), name, func(ctx context.Context) error {
		called = true
		return nil
	})
	if err != nil {
		t.Fatalf("Exclusive(%s): %v", name, err)
	}
	if ran != called {
		t.Fatalf("Exclusive(%s) says ran=%v, but the job was called: %v", name, ran, called)
	}
	return ran
}

func TestInstancesExclusiveRunsOneAtATime(t *testing.T) {
	t.Parallel()
	a, b, _ := exclusivePair(t)

	release := make(chan struct{})
	done := holdExclusive(t, a, "retention", release)
	if mustRun(t, b, "retention") {
		t.Fatal("the other instance ran the job while the first held its lock")
	}
	if !mustRun(t, b, "notifications") {
		t.Fatal("a job of another name did not run while the first was held")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !mustRun(t, b, "retention") {
		t.Fatal("the other instance could not run the job after the first released it")
	}
	if !mustRun(t, a, "retention") {
		t.Fatal("the first instance could not run the job again")
	}

	// The job's error is returned, and the lock is released after it.
	boom := errors.New("boom")
	if ran, err := b.Exclusive(context.Background(), "retention", func(context.Context) error { return boom }); !ran || !errors.Is(err, boom) {
		t.Fatalf("a failing job: ran=%v err=%v", ran, err)
	}
	if !mustRun(t, a, "retention") {
		t.Fatal("a failing job kept the lock")
	}
}

// pgBackendsHolding returns the backends that hold the advisory lock
// (class, key) of the two-key form in the database of raw.
func pgBackendsHolding(t *testing.T, raw *sql.DB, class, key uint32) []int64 {
	t.Helper()
	rows, err := raw.Query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = ?::bigint::oid AND objid = ?::bigint::oid AND objsubid = 2`, int64(class), int64(key))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pids []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pids
}

// terminate kills backend pid for real, as the death of its instance or a
// broken network would end it.
func terminate(t *testing.T, raw *sql.DB, pid int64) {
	t.Helper()
	var ok bool
	if err := raw.QueryRow(`SELECT pg_terminate_backend(?::integer)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d): %v %v", pid, ok, err)
	}
}

const (
	exclusiveClass = 0x63616e78 // storage/exclusive.go
	instanceClass  = 0x63616e69
)

// fnv32a is exclusiveKey of storage/exclusive.go: FNV-1a of the name.
func fnv32a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// The lock of an instance that dies goes with its connection: another
// instance takes it at its next try.
func TestInstancesExclusiveLockOfDeadInstanceFrees(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "several instances share one database")
	a, b, dir := exclusivePair(t)
	raw := rawDB(t, dir)

	release := make(chan struct{})
	done := holdExclusive(t, a, "retention", release)
	if mustRun(t, b, "retention") {
		t.Fatal("the other instance ran the job while the first held its lock")
	}
	pids := pgBackendsHolding(t, raw, exclusiveClass, fnv32a("retention"))
	if len(pids) != 1 {
		t.Fatalf("%d backends hold the job's lock, want 1", len(pids))
	}
	terminate(t, raw, pids[0])
	// The lock is free once the backend has gone; the kill is asynchronous,
	// so wait for pg_locks to say so (progress, not the clock).
	for len(pgBackendsHolding(t, raw, exclusiveClass, fnv32a("retention"))) != 0 {
		raw.Exec(`SELECT pg_sleep(0.01)`)
	}
	if !mustRun(t, b, "retention") {
		t.Fatal("the lock of a dead connection was not taken over")
	}
	// The first instance's job ends; its unlock fails on the dead
	// connection, which is dropped, and it can take the lock again.
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !mustRun(t, a, "retention") {
		t.Fatal("the first instance could not take the lock again")
	}
}

// startUpload starts a reporter's upload on db and stores a few chunks of
// it, leaving it unfinished.
func startUpload(t *testing.T, db *storage.DB, seed uint32) *storage.AttachmentWriter {
	t.Helper()
	w, err := db.NewOwnedAttachment(context.Background(), "upload")
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(2*storage.ChunkSize+100, seed)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	return w
}

// pendingRows counts attachment id's row and its chunks.
func pendingRows(t *testing.T, raw *sql.DB, id int64) (rows, chunks int64) {
	t.Helper()
	if err := raw.QueryRow(`SELECT count(*) FROM attachments WHERE id = ?`, id).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM attachment_chunks WHERE attachment_id = ?`, id).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	return rows, chunks
}

// An instance that dies mid-upload leaves a pending upload behind; a live
// instance sweeps it (and its chunks), and never touches the upload of an
// instance that is alive. The instance that lost its lock connection
// registers again, and its swept upload fails cleanly: no message can
// name it.
func TestInstancesSweepDeadInstanceUploads(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "several instances share one database")
	ctx := context.Background()
	dir := t.TempDir()
	dead, sweeper, alive := mustOpenDBAt(t, dir), mustOpenDBAt(t, dir), mustOpenDBAt(t, dir)
	raw := rawDB(t, dir)
	if dead.InstanceID() == 0 || dead.InstanceID() == sweeper.InstanceID() || dead.InstanceID() == alive.InstanceID() {
		t.Fatalf("instance ids %d %d %d", dead.InstanceID(), sweeper.InstanceID(), alive.InstanceID())
	}

	deadUpload := startUpload(t, dead, 1)
	aliveUpload := startUpload(t, alive, 2)
	// A staff upload records no instance: the time sweep is its.
	staff, err := dead.NewTimedAttachment(ctx, "staff")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := staff.Write(pattern(100, 3)); err != nil {
		t.Fatal(err)
	}
	if err := staff.Close(); err != nil {
		t.Fatal(err)
	}

	// Nothing is swept while every instance lives.
	if n, err := sweeper.SweepDeadInstances(ctx); err != nil || n != 0 {
		t.Fatalf("sweep with every instance alive: %d, %v", n, err)
	}

	// The dead instance's lock connection ends for real.
	oldID := dead.InstanceID()
	pids := pgBackendsHolding(t, raw, instanceClass, uint32(oldID))
	if len(pids) != 1 {
		t.Fatalf("%d backends hold instance %d's lock, want 1", len(pids), oldID)
	}
	terminate(t, raw, pids[0])
	for len(pgBackendsHolding(t, raw, instanceClass, uint32(oldID))) != 0 {
		raw.Exec(`SELECT pg_sleep(0.01)`)
	}

	n, err := sweeper.SweepDeadInstances(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep after an instance died: %d, %v; want 1 upload", n, err)
	}
	if rows, chunks := pendingRows(t, raw, deadUpload.ID()); rows != 0 || chunks != 0 {
		t.Errorf("the dead instance's upload is still there: %d rows, %d chunks", rows, chunks)
	}
	if rows, chunks := pendingRows(t, raw, aliveUpload.ID()); rows != 1 || chunks != 2 {
		t.Errorf("a live instance's upload was touched: %d rows, %d chunks, want 1 and 2", rows, chunks)
	}
	if rows, _ := pendingRows(t, raw, staff.ID()); rows != 1 {
		t.Error("a staff upload was swept with its instance")
	}
	var left int64
	if err := raw.QueryRow(`SELECT count(*) FROM instances WHERE id = ?`, oldID).Scan(&left); err != nil || left != 0 {
		t.Errorf("the dead instance's row: %d, %v", left, err)
	}

	// The live instance's upload completes and is linked.
	if err := aliveUpload.Close(); err != nil {
		t.Fatal(err)
	}
	kdf := mustKDF(t, alive)
	nc := newCase(kdf.ID, "alive", aliveUpload.ID())
	nc.First.AttachmentOwner = "upload"
	if _, err := alive.CreateCase(ctx, nc); err != nil {
		t.Fatalf("the live instance's upload could not be linked: %v", err)
	}
	// Linked, it no longer names its instance, whose lifetime would date it.
	var owner sql.NullInt64
	if err := raw.QueryRow(`SELECT instance_id FROM attachments WHERE id = ?`, aliveUpload.ID()).Scan(&owner); err != nil || owner.Valid {
		t.Errorf("a linked attachment names instance %v (%v), want NULL", owner, err)
	}

	// The swept upload fails cleanly: Close says so, and no case can name
	// it. (Had Close come first, linking would refuse the same way.)
	if err := deadUpload.Close(); !errors.Is(err, storage.ErrUploadSwept) {
		t.Errorf("Close of a swept upload: %v, want ErrUploadSwept", err)
	}
	nc = newCase(kdf.ID, "dead", deadUpload.ID())
	nc.First.AttachmentOwner = "upload"
	if _, err := dead.CreateCase(ctx, nc); err == nil {
		t.Fatal("a case was stored naming a swept attachment")
	}
	if got := mustCount(t, sweeper); got.cases != 1 {
		t.Errorf("%d cases, want only the live instance's", got.cases)
	}

	// The instance that lost its lock registers again under a new id, and
	// its new uploads are its own again: not swept.
	again, err := dead.CheckInstance(ctx)
	if err != nil || !again || dead.InstanceID() == oldID || dead.InstanceID() == 0 {
		t.Fatalf("CheckInstance: again=%v err=%v id %d (was %d)", again, err, dead.InstanceID(), oldID)
	}
	if again, err := dead.CheckInstance(ctx); err != nil || again {
		t.Fatalf("CheckInstance with the lock held: again=%v err=%v", again, err)
	}
	next := startUpload(t, dead, 4)
	if n, err := sweeper.SweepDeadInstances(ctx); err != nil || n != 0 {
		t.Fatalf("sweep after the instance registered again: %d, %v", n, err)
	}
	if err := next.Close(); err != nil {
		t.Fatalf("an upload after registering again: %v", err)
	}
}

// An upload started after the instance's row was swept (its lock
// connection broke, unseen) registers the instance again rather than
// failing or storing an upload nobody owns.
func TestInstancesUploadRegistersAgain(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "several instances share one database")
	ctx := context.Background()
	dir := t.TempDir()
	a, b := mustOpenDBAt(t, dir), mustOpenDBAt(t, dir)
	raw := rawDB(t, dir)
	oldID := a.InstanceID()
	terminate(t, raw, pgBackendsHolding(t, raw, instanceClass, uint32(oldID))[0])
	for len(pgBackendsHolding(t, raw, instanceClass, uint32(oldID))) != 0 {
		raw.Exec(`SELECT pg_sleep(0.01)`)
	}
	if _, err := b.SweepDeadInstances(ctx); err != nil {
		t.Fatal(err)
	}
	w := startUpload(t, a, 5)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if a.InstanceID() == oldID {
		t.Fatal("the instance did not register again")
	}
	var owner sql.NullInt64
	if err := raw.QueryRow(`SELECT instance_id FROM attachments WHERE id = ?`, w.ID()).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if !owner.Valid || owner.Int64 != a.InstanceID() {
		t.Errorf("the upload records instance %v, want %d", owner, a.InstanceID())
	}
}

// An instance that starts sweeps the uploads of those that died; Close
// unregisters an instance and deletes its own pending uploads.
func TestInstancesSweptAtStartAndClose(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "several instances share one database")
	dir := t.TempDir()
	a := mustOpenDBAt(t, dir)
	raw := rawDB(t, dir)
	w := startUpload(t, a, 6)
	id := a.InstanceID()
	terminate(t, raw, pgBackendsHolding(t, raw, instanceClass, uint32(id))[0])
	for len(pgBackendsHolding(t, raw, instanceClass, uint32(id))) != 0 {
		raw.Exec(`SELECT pg_sleep(0.01)`)
	}
	b := mustOpenDBAt(t, dir) // sweeps at start
	if rows, chunks := pendingRows(t, raw, w.ID()); rows != 0 || chunks != 0 {
		t.Errorf("an instance starting did not sweep a dead one's upload: %d rows, %d chunks", rows, chunks)
	}

	mine := startUpload(t, b, 7)
	bID := b.InstanceID()
	// A backup holds no instance (nor the pending upload).
	backup := filepath.Join(t.TempDir(), "backup.db")
	must(t, b.Backup(context.Background(), backup))
	copied, err := sql.Open("sqlite3", backup)
	must(t, err)
	defer copied.Close()
	var instances, attachments int64
	must(t, copied.QueryRow(`SELECT (SELECT count(*) FROM instances), (SELECT count(*) FROM attachments)`).Scan(&instances, &attachments))
	if instances != 0 || attachments != 0 {
		t.Errorf("the backup holds %d instances and %d attachments, want none", instances, attachments)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if rows, chunks := pendingRows(t, raw, mine.ID()); rows != 0 || chunks != 0 {
		t.Errorf("Close left its own pending upload: %d rows, %d chunks", rows, chunks)
	}
	var left int64
	if err := raw.QueryRow(`SELECT count(*) FROM instances WHERE id = ?`, bID).Scan(&left); err != nil || left != 0 {
		t.Errorf("Close left the instance's row: %d, %v", left, err)
	}
}

// Two instances claiming the notification flags at once claim each one
// once: each mail goes out once.
func TestInstancesClaimEachNotificationOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, _ := exclusivePair(t)
	var ids []int64
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		st := newStaff(t, a, name)
		must(t, a.SetNotifyEmail(ctx, st.ID, name+"@example.org"))
		ids = append(ids, st.ID)
	}
	for round := range 5 {
		mustCreateCase(t, a, "round"+string(rune('a'+round))) // flags all six
		var got [2][]storage.PendingNotification
		errs := concurrently.Run(
			func() (err error) { got[0], err = a.ClaimNotifications(ctx); return err },
			func() (err error) { got[1], err = b.ClaimNotifications(ctx); return err },
		)
		for _, err := range errs {
			must(t, err)
		}
		claimed := map[int64]int{}
		for _, ps := range got {
			for _, p := range ps {
				claimed[p.StaffID]++
			}
		}
		for _, id := range ids {
			if claimed[id] != 1 {
				t.Errorf("round %d: staff %d claimed %d times, want once", round, id, claimed[id])
			}
		}
		if left := pending(t, a); len(left) != 0 {
			t.Errorf("round %d: flags left after the claims: %v", round, left)
		}
	}
}
