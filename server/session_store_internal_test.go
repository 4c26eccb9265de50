package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// The two implementations of the reporter session store and of the
// receipt keeper behave alike: the memory ones (SQLite, one instance) and
// the database ones (instances sharing PostgreSQL). The database ones run
// here on the test's engine: SQLite's file, or with
// CANDOUR_TEST_ENGINE=postgres a PostgreSQL database of the test cluster.

// openStoreDB opens a fresh database of the test's engine, whose clock is
// clock (unix nanoseconds).
func openStoreDB(t *testing.T, clock *atomic.Int64) *storage.DB {
	t.Helper()
	var db *storage.DB
	var err error
	if os.Getenv("CANDOUR_TEST_ENGINE") == string(storage.EnginePostgres) {
		db, err = storage.OpenPostgres(pgtest.Start(t).NewDatabase(t))
	} else {
		db, err = storage.Open(t.TempDir())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	return db
}

// storeCase stores a case for sessions to belong to.
func storeCase(t *testing.T, db *storage.DB, name string) int64 {
	t.Helper()
	ctx := context.Background()
	p, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 8, Threads: 1, Salt: make([]byte, 16)})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := db.CreateCase(ctx, storage.NewCase{Ref: "REF-" + name, LookupID: []byte("lookup " + name), KDFID: p.ID,
		WrappedIdentity: []byte("age-encryption.org/v1 " + name), Recipient: "age1" + name,
		First: storage.NewMessage{Ciphertext: []byte("age-encryption.org/v1 first " + name)}})
	if err != nil {
		t.Fatal(err)
	}
	return cs.ID
}

type sessionStoreCase struct {
	name  string
	clock *atomic.Int64
	store sessionStore
	cases [2]int64
}

func sessionStores(t *testing.T) []sessionStoreCase {
	const idle, lifetime = 15 * time.Minute, time.Hour
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC).UnixNano()
	memClock, dbClock := &atomic.Int64{}, &atomic.Int64{}
	memClock.Store(start)
	dbClock.Store(start)
	db := openStoreDB(t, dbClock)
	return []sessionStoreCase{
		{"in memory", memClock, newSessionStore(idle, lifetime, func() time.Time { return time.Unix(0, memClock.Load()) }), [2]int64{1, 2}},
		{"in the database", dbClock, &dbSessions{db: db, idle: idle, lifetime: lifetime, log: slog.New(slog.DiscardHandler)},
			[2]int64{storeCase(t, db, "a"), storeCase(t, db, "b")}},
	}
}

func TestSessionStoresBehaveAlike(t *testing.T) {
	t.Parallel()
	id, err := crypto.NewCaseIdentity(crypto.KindClassic)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, sc := range sessionStores(t) {
		t.Run(sc.name, func(t *testing.T) {
			s, a, b := sc.store, sc.cases[0], sc.cases[1]
			advance := func(d time.Duration) { sc.clock.Add(int64(d)) }
			tok, err := s.create(ctx, a, id)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := s.get(ctx, tok)
			if !ok || got.caseID != a || got.identity.Recipient() != id.Recipient() || got.csrf == "" {
				t.Fatalf("get: %v %+v", ok, got)
			}
			again, _ := s.get(ctx, tok)
			if !again.checkCSRF(got.csrf) || again.checkCSRF(got.csrf+"x") {
				t.Error("the CSRF token is not the session's own")
			}
			for _, bad := range []string{"", "x", base64.RawURLEncoding.EncodeToString(make([]byte, 32)), tok[:len(tok)-1]} {
				if _, ok := s.get(ctx, bad); ok {
					t.Errorf("token %q opens a session", bad)
				}
			}

			// Idle time: used at 10 and 24 minutes (14 apart, within 15),
			// ended at 41 (17 after its last use).
			advance(10 * time.Minute)
			if _, ok := s.get(ctx, tok); !ok {
				t.Fatal("ended within its idle time")
			}
			advance(14 * time.Minute)
			if _, ok := s.get(ctx, tok); !ok {
				t.Fatal("ended before its idle time since its last use")
			}
			advance(17 * time.Minute)
			if _, ok := s.get(ctx, tok); ok {
				t.Fatal("alive after its idle time")
			}
			// Lifetime: used every ten minutes, ended after an hour.
			tok, _ = s.create(ctx, a, id)
			for range 6 {
				advance(10 * time.Minute)
				s.get(ctx, tok)
			}
			advance(time.Minute)
			if _, ok := s.get(ctx, tok); ok {
				t.Fatal("alive after its lifetime")
			}

			// Per case, the least recently used gives way.
			var toks []string
			for range maxSessionsPerCase {
				tok, err := s.create(ctx, a, id)
				if err != nil {
					t.Fatal(err)
				}
				toks = append(toks, tok)
			}
			other, _ := s.create(ctx, b, id)
			// Used a minute later (the database store records a use at
			// most once a minute).
			advance(time.Minute)
			s.get(ctx, toks[0])
			newest, _ := s.create(ctx, a, id)
			if _, ok := s.get(ctx, toks[1]); ok {
				t.Error("the least recently used session of the case is still alive")
			}
			for _, tok := range []string{toks[0], toks[2], newest, other} {
				if _, ok := s.get(ctx, tok); !ok {
					t.Error("a session that should have stayed is gone")
				}
			}
			s.remove(ctx, newest)
			if _, ok := s.get(ctx, newest); ok {
				t.Error("alive after logout")
			}
			s.removeCase(ctx, a)
			if _, ok := s.get(ctx, toks[0]); ok {
				t.Error("alive after its case's removal")
			}
			if _, ok := s.get(ctx, other); !ok {
				t.Error("another case's session ended with it")
			}
			advance(time.Hour)
			s.sweep(ctx)
			var left int64
			switch s := s.(type) {
			case *memorySessions:
				left = int64(len(s.byHash))
			case *dbSessions:
				left, _ = s.db.ReporterSessionCount(ctx)
			}
			if left != 0 {
				t.Errorf("%d sessions left after the sweep", left)
			}
		})
	}
}

type receiptKeeperCase struct {
	name string
	rk   receiptKeeper
}

func receiptKeepers(t *testing.T) []receiptKeeperCase {
	clock := &atomic.Int64{}
	clock.Store(time.Now().UnixNano())
	db := openStoreDB(t, clock)
	return []receiptKeeperCase{
		{"in memory", newReceiptStore(time.Now)},
		{"in the database", &dbReceipts{db: db, claimFor: time.Hour, log: slog.New(slog.DiscardHandler)}},
	}
}

func testFormToken(t *testing.T) (string, []byte) {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	h, ok := formTokenHash(tok)
	if !ok {
		t.Fatal("bad token")
	}
	return tok, h
}

// A repeat waiting for the first attempt gets its receipt when it is
// kept, or the claim when it is dropped; one arriving later gets the
// receipt at once. No clock is read: each wait ends by the other side.
func TestReceiptKeepersAnswerARepeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, kc := range receiptKeepers(t) {
		t.Run(kc.name, func(t *testing.T) {
			tok, h := testFormToken(t)
			rec, first, err := kc.rk.enter(ctx, tok, h, time.Minute)
			if err != nil || rec != nil || first == nil {
				t.Fatalf("first attempt: %v %v %v", rec, first, err)
			}
			type answer struct {
				rec   *receipt
				claim *receiptClaim
				err   error
			}
			waiting := make(chan answer, 1)
			go func() {
				rec, claim, err := kc.rk.enter(ctx, tok, h, time.Minute)
				waiting <- answer{rec, claim, err}
			}()
			want := receipt{Code: "ABCD-EFGH-JKMN-PQRS-TVWX", Files: []crypto.Attachment{{Name: "a.pdf", Size: 3}}, Channel: "Police"}
			first.keep(want)
			first.drop() // after keep: changes nothing
			a := <-waiting
			if a.err != nil || a.claim != nil || a.rec == nil || a.rec.Code != want.Code || a.rec.Channel != want.Channel ||
				len(a.rec.Files) != 1 || a.rec.Files[0].Name != "a.pdf" {
				t.Fatalf("the waiting repeat got %+v, %v, %v", a.rec, a.claim, a.err)
			}
			if rec, claim, err := kc.rk.enter(ctx, tok, h, time.Minute); err != nil || claim != nil || rec == nil || rec.Code != want.Code {
				t.Fatalf("a later repeat got %+v, %v, %v", rec, claim, err)
			}

			tok, h = testFormToken(t)
			_, first, _ = kc.rk.enter(ctx, tok, h, time.Minute)
			go func() {
				rec, claim, err := kc.rk.enter(ctx, tok, h, time.Minute)
				waiting <- answer{rec, claim, err}
			}()
			first.drop()
			a = <-waiting
			if a.err != nil || a.rec != nil || a.claim == nil {
				t.Fatalf("the repeat of a failed attempt got %+v, %v, %v; want the claim", a.rec, a.claim, a.err)
			}
			a.claim.drop()
		})
	}
}

// A repeat gives up when its wait is over, with the first attempt still in
// flight; were the bound ignored, the test would hang.
func TestReceiptKeepersWaitNoLongerThanTheBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, kc := range receiptKeepers(t) {
		t.Run(kc.name, func(t *testing.T) {
			tok, h := testFormToken(t)
			_, claim, err := kc.rk.enter(ctx, tok, h, time.Second)
			if err != nil || claim == nil {
				t.Fatal(claim, err)
			}
			defer claim.drop()
			if _, _, err := kc.rk.enter(ctx, tok, h, 300*time.Millisecond); err != errBusy {
				t.Errorf("err %v, want errBusy", err)
			}
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, _, err := kc.rk.enter(cctx, tok, h, time.Hour); err != errBusy {
				t.Errorf("with its request gone: err %v, want errBusy", err)
			}
		})
	}
}
