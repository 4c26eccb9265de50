package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// These tests look inside the group commit (group.go): they hold the one
// writer connection so that writes queue up, then let them go, and check
// which writes were stored, what each caller was told, and how many
// transactions were committed. They assert no timing.

type groupFixture struct {
	t      *testing.T
	db     *DB
	caseID int64
}

func newGroupFixture(t *testing.T) *groupFixture {
	t.Helper()
	db := openTestEngineDB(t)
	ctx := context.Background()
	kdf, err := db.EnsureKDFParams(ctx, KDFParams{Time: 1, MemoryKiB: 8 << 10, Threads: 1, Salt: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.CreateCase(ctx, NewCase{Ref: "GROUP", LookupID: []byte("group"), KDFID: kdf.ID,
		WrappedIdentity: []byte("wrapped"), Recipient: "age1case", First: NewMessage{Ciphertext: []byte("first")}})
	if err != nil {
		t.Fatal(err)
	}
	if db.pg {
		// For danglingAtCommit.
		if _, err := db.w.ExecContext(ctx, `CREATE TABLE test_commit_breaker (
			case_id BIGINT NOT NULL REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
			t.Fatal(err)
		}
	}
	return &groupFixture{t: t, db: db, caseID: c.ID}
}

// holdWriter takes the writer connection until the returned function is
// called, so that the writes started meanwhile queue up.
func (f *groupFixture) holdWriter() (release func()) {
	f.t.Helper()
	holding, done := make(chan struct{}), make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		finished <- f.db.write(context.Background(), func(*sql.Tx) error {
			close(holding)
			<-done
			return nil
		})
	}()
	<-holding
	return func() {
		close(done)
		if err := <-finished; err != nil {
			f.t.Errorf("the write holding the connection failed: %v", err)
		}
	}
}

// waitFor waits until cond holds. The deadline only guards against a hang.
func (f *groupFixture) waitFor(what string, cond func(g *grouper) bool) {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		g := f.db.group
		g.mu.Lock()
		ok := cond(g)
		g.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("gave up after 2 minutes waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *groupFixture) messages() [][]byte {
	f.t.Helper()
	ms, err := f.db.Messages(context.Background(), f.caseID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out [][]byte
	for _, m := range ms {
		out = append(out, m.Ciphertext)
	}
	return out
}

func (f *groupFixture) countMessages() int64 {
	f.t.Helper()
	_, n, _, _, err := f.db.CountRows(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// concurrently runs each fn in its own goroutine, all queued, in order,
// behind the held writer, so that they form one group; it returns their
// errors in order. A first, empty write takes the group that the writer
// blocks (the one the group loop took before the others arrived).
func (f *groupFixture) concurrently(fns ...func() error) []error {
	f.t.Helper()
	release := f.holdWriter()
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	var firstErr error
	wg.Go(func() {
		firstErr = f.db.writeGrouped(context.Background(), 0, func(context.Context, *sql.Tx) error { return nil })
	})
	f.waitFor("the first write is taken", func(g *grouper) bool { return g.unanswered.Load() == 1 && len(g.pending) == 0 })
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
		f.waitFor(fmt.Sprintf("write %d is queued", i), func(g *grouper) bool { return len(g.pending) == i+1 })
	}
	release()
	wg.Wait()
	if firstErr != nil {
		f.t.Errorf("the first, empty write: %v", firstErr)
	}
	return errs
}

func (f *groupFixture) add(caseID int64, text string, attachments ...int64) func() error {
	return func() error {
		_, err := f.db.AddMessage(context.Background(), caseID, NewMessage{
			Author: AuthorReporter, Ciphertext: []byte(text), AttachmentIDs: attachments})
		return err
	}
}

func TestGroupCommitStoresConcurrentMessagesInFewCommits(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	const n = 40
	var fns []func() error
	for i := range n {
		fns = append(fns, f.add(f.caseID, fmt.Sprintf("message %d", i)))
	}
	before := f.db.group.commits.Load()
	for i, err := range f.concurrently(fns...) {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	// The first, empty write's commit, then one for all the messages.
	if commits := f.db.group.commits.Load() - before; commits != 2 {
		t.Errorf("%d messages took %d commits, want 1", n, commits-1)
	}
	got := map[string]bool{}
	for _, m := range f.messages() {
		got[string(m)] = true
	}
	for i := range n {
		if !got[fmt.Sprintf("message %d", i)] {
			t.Errorf("message %d was acknowledged but is not stored", i)
		}
	}
	if c := f.countMessages(); c != n+1 {
		t.Errorf("%d messages stored, want %d", c, n+1)
	}
}

func TestGroupCommitRollsBackOnlyTheFailedWrite(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	ctx := context.Background()
	// An attachment already linked to a message cannot be linked again:
	// the write naming it inserts its message, then fails.
	aw, err := f.db.NewAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aw.Write([]byte("ciphertext")); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.AddMessage(ctx, f.caseID, NewMessage{Author: AuthorReporter, Ciphertext: []byte("owner"), AttachmentIDs: []int64{aw.ID()}}); err != nil {
		t.Fatal(err)
	}
	errs := f.concurrently(
		f.add(f.caseID, "good 1"),
		f.add(f.caseID+1000, "to a case that does not exist"),
		f.add(f.caseID, "good 2"),
		f.add(f.caseID, "steals a linked attachment", aw.ID()),
		f.add(f.caseID, "good 3"),
	)
	for i, want := range []bool{true, false, true, false, true} {
		if (errs[i] == nil) != want {
			t.Errorf("write %d: error %v, want success %v", i, errs[i], want)
		}
	}
	if !errors.Is(errs[1], ErrNotFound) {
		t.Errorf("the message to a missing case failed with %v, want ErrNotFound", errs[1])
	}
	var texts []string
	for _, m := range f.messages() {
		texts = append(texts, string(m))
	}
	want := []string{"first", "owner", "good 1", "good 2", "good 3"}
	if fmt.Sprint(texts) != fmt.Sprint(want) {
		t.Errorf("stored %q, want %q", texts, want)
	}
	if c := f.countMessages(); c != int64(len(want)) {
		t.Errorf("%d messages in the database, want %d", c, len(want))
	}
}

func TestGroupCommitThatFailsAcknowledgesNoOne(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	ctx := context.Background()
	insert := func(caseID int64, text string, deferFK bool) func() error {
		return func() error {
			return f.db.writeGrouped(ctx, len(text), func(ctx context.Context, tx *sql.Tx) error {
				if deferFK {
					// A dangling reference checked only at COMMIT, which
					// fails for the whole group.
					return f.danglingAtCommit(ctx, tx, caseID, text)
				}
				_, err := tx.ExecContext(ctx,
					`INSERT INTO messages (id, case_id, seq, author, created_at, ciphertext)
					 SELECT ?, ?, coalesce(max(seq), 0) + 1, 'reporter', 0, ? FROM messages WHERE case_id = ?`,
					f.newID(), caseID, []byte(text), caseID)
				return err
			})
		}
	}
	errs := f.concurrently(
		insert(f.caseID, "a", false),
		insert(f.caseID+1000, "breaks the commit", true),
		insert(f.caseID, "b", false),
	)
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d was acknowledged, but its group did not commit", i)
		}
	}
	if c := f.countMessages(); c != 1 {
		t.Errorf("%d messages stored, want only the first one", c)
	}
	// The writer is usable again, and the pragma did not outlive the
	// transaction.
	if err := f.add(f.caseID, "after")(); err != nil {
		t.Fatalf("a write after the failed group: %v", err)
	}
	if err := insert(f.caseID+1000, "dangling", false)(); err == nil {
		t.Errorf("a message to a missing case was stored")
	}
	if c := f.countMessages(); c != 2 {
		t.Errorf("%d messages stored, want 2", c)
	}
}

func TestGroupCommitRunsTheOthersAgainWhenAFailureEndsTheTransaction(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	ctx := context.Background()
	// SQLite rolls back the whole transaction on some errors (a full disk,
	// an interrupt); a write that ends it by hand stands in for those.
	lose := func() error {
		return f.db.writeGrouped(ctx, 1, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
				return err
			}
			return errors.New("lost the transaction")
		})
	}
	errs := f.concurrently(f.add(f.caseID, "before"), lose, f.add(f.caseID, "after"))
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("the other writes failed: %v, %v", errs[0], errs[2])
	}
	if errs[1] == nil || errs[1].Error() != "lost the transaction" {
		t.Errorf("the failing write got %v", errs[1])
	}
	// Each stored exactly once, though "before" ran three times (the
	// failing write is run again once, and loses the transaction again).
	var texts []string
	for _, m := range f.messages() {
		texts = append(texts, string(m))
	}
	if fmt.Sprint(texts) != fmt.Sprint([]string{"first", "before", "after"}) {
		t.Errorf("stored %q", texts)
	}
}

// withForm returns a write of a message sent with the form token whose
// hash is h, as a double-clicked message form sends it twice.
func (f *groupFixture) withForm(h []byte, text string) func() error {
	return func() error {
		_, err := f.db.AddMessage(context.Background(), f.caseID, NewMessage{
			Author: AuthorReporter, Ciphertext: []byte(text), FormHash: h})
		return err
	}
}

// breakCommit returns a write that succeeds in its savepoint but makes its
// group's COMMIT fail (a deferred foreign key to a missing case), as a full
// disk or an I/O error at commit would.
func (f *groupFixture) breakCommit() func() error {
	return func() error {
		return f.db.writeGrouped(context.Background(), 1, func(ctx context.Context, tx *sql.Tx) error {
			return f.danglingAtCommit(ctx, tx, f.caseID+1000, "x")
		})
	}
}

// danglingAtCommit writes, in tx, a row naming caseID, which is checked
// only at COMMIT: with no such case, the COMMIT fails. SQLite defers its
// foreign keys for the transaction (a message to the case). PostgreSQL
// defers only constraints declared DEFERRABLE, which Candour's schema has
// none of: there, the row goes to a table of the test's own whose foreign
// key to cases is declared INITIALLY DEFERRED.
func (f *groupFixture) danglingAtCommit(ctx context.Context, tx *sql.Tx, caseID int64, text string) error {
	if f.db.pg {
		_, err := tx.ExecContext(ctx, `INSERT INTO test_commit_breaker (case_id) VALUES (?)`, caseID)
		return err
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO messages (id, case_id, author, created_at, ciphertext) VALUES (?, ?, 'reporter', 0, ?)`, f.newID(), caseID, []byte(text))
	return err
}

// newID is a random id for a row the test inserts by hand (SQLite would
// assign one, PostgreSQL's messages.id has no default).
func (f *groupFixture) newID() int64 {
	f.t.Helper()
	id, err := randomID()
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// formStored says whether the message with text is stored and its form's
// hash recorded as used.
func (f *groupFixture) formStored(h []byte, text string) bool {
	f.t.Helper()
	used, err := f.db.FormUsed(context.Background(), h)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range f.messages() {
		if string(m) == text {
			return used
		}
	}
	return false
}

func TestGroupCommitDoesNotTellARepeatItWasStoredWhenItsGroupFailsToCommit(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	h := sha256.Sum256([]byte("the form token"))
	// Click 2 finds click 1's token in the group's transaction and fails
	// with ErrFormUsed in its savepoint; then the group's commit fails, and
	// click 1 is lost. Click 2 must not be told "stored once": it is run
	// again, and finds the token free.
	errs := f.concurrently(f.withForm(h[:], "click 1"), f.withForm(h[:], "click 2"), f.breakCommit())
	if errs[0] == nil || errs[2] == nil {
		t.Errorf("writes of a group that did not commit were acknowledged: %v, %v", errs[0], errs[2])
	}
	if errors.Is(errs[1], ErrFormUsed) {
		t.Errorf("the repeat was told ErrFormUsed (\"stored once\"), but its group did not commit")
	}
	if errs[1] != nil {
		t.Errorf("the repeat, run again once its key was free, failed: %v", errs[1])
	}
	if !f.formStored(h[:], "click 2") {
		t.Errorf("the repeat was acknowledged but is not stored with its token")
	}
	if c := f.countMessages(); c != 2 {
		t.Errorf("%d messages stored, want the first and click 2", c)
	}
}

func TestGroupCommitRunsARepeatAgainWhenItsTransactionIsLost(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	ctx := context.Background()
	h := sha256.Sum256([]byte("the form token"))
	// The first group is lost by a write that ends its transaction; click 1
	// and the commit breaker are run again in a second group, which fails
	// to commit. Click 2 was refused in the first group against a token
	// that was never kept, so it is not answered then: it runs again too.
	lose := func() error {
		return f.db.writeGrouped(ctx, 1, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
				return err
			}
			return errors.New("lost the transaction")
		})
	}
	errs := f.concurrently(f.withForm(h[:], "click 1"), f.withForm(h[:], "click 2"), lose, f.breakCommit())
	if errs[0] == nil || errs[3] == nil {
		t.Errorf("writes of a group that did not commit were acknowledged: %v, %v", errs[0], errs[3])
	}
	if errs[1] != nil {
		t.Errorf("the repeat got %v, want it stored (its token was free once click 1 was lost)", errs[1])
	}
	if !f.formStored(h[:], "click 2") || f.countMessages() != 2 {
		t.Errorf("stored %q, want the first message and click 2", f.messages())
	}
}

func TestGroupCommitTellsARepeatItWasStoredOnceAfterACommit(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	h := sha256.Sum256([]byte("the form token"))
	errs := f.concurrently(f.withForm(h[:], "click 1"), f.withForm(h[:], "click 2"), f.add(f.caseID, "other"))
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("the other writes failed: %v, %v", errs[0], errs[2])
	}
	if !errors.Is(errs[1], ErrFormUsed) {
		t.Errorf("the repeat got %v, want ErrFormUsed", errs[1])
	}
	if !f.formStored(h[:], "click 1") || f.countMessages() != 3 {
		t.Errorf("stored %q, want the first message, click 1 and other", f.messages())
	}
}

func TestGroupCommitAnswersAWriteThatFailsAloneWithItsOwnErrorWhenItsGroupFailsToCommit(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	// A message to a missing case fails whatever else the group holds: run
	// again after the failed commit, it gets its own error, not the
	// commit's.
	errs := f.concurrently(f.add(f.caseID, "a"), f.add(f.caseID+1000, "to a case that does not exist"), f.breakCommit())
	if errs[0] == nil || errs[2] == nil {
		t.Errorf("writes of a group that did not commit were acknowledged: %v, %v", errs[0], errs[2])
	}
	if !errors.Is(errs[1], ErrNotFound) {
		t.Errorf("the message to a missing case got %v, want ErrNotFound", errs[1])
	}
	if c := f.countMessages(); c != 1 {
		t.Errorf("%d messages stored, want only the first", c)
	}
	if f.db.group.unanswered.Load() != 0 {
		t.Errorf("%d writes left unanswered", f.db.group.unanswered.Load())
	}
}

func TestGroupCommitAfterCloseFailsAndDoesNotHang(t *testing.T) {
	t.Parallel()
	f := newGroupFixture(t)
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := f.db.AddMessage(context.Background(), f.caseID, NewMessage{Author: AuthorReporter, Ciphertext: []byte("late")})
	if !errors.Is(err, errClosed) {
		t.Errorf("AddMessage after Close: %v, want errClosed", err)
	}
}

func TestGroupCommitKeepsEachMessageIntact(t *testing.T) {
	t.Parallel()
	// Messages of many sizes from many goroutines, without holding the
	// writer: whatever the grouping, each is stored exactly as given.
	f := newGroupFixture(t)
	const n = 200
	var wg sync.WaitGroup
	want := make([][]byte, n)
	for i := range n {
		want[i] = bytes.Repeat([]byte{byte(i)}, 1+i*997%20000)
		wg.Go(func() {
			if _, err := f.db.AddMessage(context.Background(), f.caseID, NewMessage{Author: AuthorReporter, Ciphertext: want[i]}); err != nil {
				t.Errorf("message %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got := map[string]int{}
	for _, m := range f.messages()[1:] {
		got[string(m)]++
	}
	for i, w := range want {
		if got[string(w)] != 1 {
			t.Errorf("message %d stored %d times", i, got[string(w)])
		}
	}
	if f.db.group.unanswered.Load() != 0 {
		t.Errorf("%d writes left unanswered", f.db.group.unanswered.Load())
	}
}
