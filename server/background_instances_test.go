package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// Background work across instances: two servers on one database (on
// PostgreSQL; on SQLite, which has one instance, the one server twice)
// running the same background work at once do it once.

// sameDatabaseInstance is startPeer on PostgreSQL and ts itself on SQLite
// (one instance per database), so that a test of two instances runs as a
// test of one there.
func sameDatabaseInstance(t *testing.T, ts *testServer, adjust func(*server.Config)) *testServer {
	t.Helper()
	if ts.DSN == "" {
		return ts
	}
	return startPeer(t, ts, adjust)
}

// Two instances running a notification round at the same boundary mail
// each flagged staff member once, through a real mail server.
func TestInstancesMailEachNotificationOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	port := freePort(t)
	sink := startSMTPSink(t, port)
	ts := startNotifyingServer(t, port, nil)
	other := sameDatabaseInstance(t, ts, func(c *server.Config) {
		c.PublicURL = notifyPublicURL
		c.SMTP = server.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: server.SMTPTLSNone, From: "candour@watchdog.example"}
		c.NotifyByHand = true
	})
	staff := []string{"alice", "bob", "carol", "dave"}
	for _, name := range staff {
		c, csrf := loggedIn(t, ts, name, storage.RoleCaseworker)
		if res, _ := optIn(t, ts, c, csrf, name+"@staff.example"); res.StatusCode != http.StatusOK {
			t.Fatalf("opt in %s: %d", name, res.StatusCode)
		}
	}
	total := 0
	for round := range 3 {
		// A report through either instance flags every one of them.
		via := ts
		if round%2 == 1 {
			via = other
		}
		submit(t, via, "report of round "+string(rune('A'+round)))
		errs := concurrently.Run(
			func() error { return ts.Srv.SendNotifications(ctx) },
			func() error { return other.Srv.SendNotifications(ctx) },
		)
		for _, err := range errs {
			must(t, err)
		}
		got := sink.mails(t)
		if len(got) != total+len(staff) {
			t.Fatalf("round %d: %d new mails, want %d (one per opted-in staff member)", round, len(got)-total, len(staff))
		}
		per := map[string]int{}
		for _, m := range got[total:] {
			per[strings.Join(m.rcpt, ",")]++
		}
		for _, name := range staff {
			if per[name+"@staff.example"] != 1 {
				t.Errorf("round %d: %s got %d mails, want 1", round, name, per[name+"@staff.example"])
			}
		}
		total = len(got)
		for _, name := range staff {
			if notifyPending(t, ts, name) {
				t.Errorf("round %d: %s's flag is still set", round, name)
			}
		}
	}
}

// Two instances running retention at once delete each expired case once,
// with one audit entry per deletion, and the audit chain verifies.
func TestInstancesRetentionDeletesEachCaseOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := startServer(t, nil)
	other := sameDatabaseInstance(t, ts, nil)
	const n = 6
	for i := range n {
		submit(t, ts, "expiring report "+string(rune('A'+i)))
	}
	c, csrf := loggedIn(t, ts, "olga", storage.RoleAdmin)
	res, _ := post(t, c, ts.URL+"/staff/admin/retention",
		strings.NewReader(url.Values{"csrf": {csrf}, "retention_days": {"30"}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("default retention: %d", res.StatusCode)
	}
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 100)
	must(t, err)
	if len(cases) != n {
		t.Fatalf("%d cases, want %d", len(cases), n)
	}
	for _, cs := range cases {
		closeCase(t, ts, c, csrf, cs.Ref, "1")
	}
	ts.advance(31 * 24 * time.Hour)

	var deleted [2]int
	errs := concurrently.Run(
		func() (err error) { deleted[0], err = ts.Srv.RunRetention(ctx); return err },
		func() (err error) { deleted[1], err = other.Srv.RunRetention(ctx); return err },
	)
	for _, err := range errs {
		must(t, err)
	}
	if deleted[0]+deleted[1] != n {
		t.Errorf("the two runs deleted %d and %d cases, want %d in all", deleted[0], deleted[1], n)
	}
	left, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 100)
	must(t, err)
	if len(left) != 0 {
		t.Errorf("%d expired cases survived", len(left))
	}
	entries, _, err := ts.DB.AuditPage(ctx, 0, 1000)
	must(t, err)
	perRef := map[string]int{}
	for _, e := range entries {
		if e.Action == "case.deleted" {
			perRef[e.Target]++
		}
	}
	for _, cs := range cases {
		if perRef[cs.Ref] != 1 {
			t.Errorf("case %s: %d deletion entries in the audit trail, want 1", cs.Ref, perRef[cs.Ref])
		}
	}
	must(t, ts.DB.VerifyAudit(ctx))
}

// gate is a reader that blocks its first Read until open is closed.
type gate struct {
	open <-chan struct{}
	r    io.Reader
}

func (g *gate) Read(p []byte) (int, error) {
	<-g.open
	return g.r.Read(p)
}

// An instance that lost its lock connection looks dead, and another
// sweeps the upload it is receiving: that request fails cleanly, storing
// no case that names a missing attachment, and the instance registers
// again and takes the next report.
func TestInstancesSweptUploadFailsCleanly(t *testing.T) {
	t.Parallel()
	if testEngine() != storage.EnginePostgres {
		t.Skip("several instances share one database only on PostgreSQL")
	}
	ctx := context.Background()
	ts := startServer(t, nil)
	raw := rawDB(t, ts)

	first := make([]byte, 3<<20)
	rand.Read(first)
	rest := make([]byte, 1<<20)
	rand.Read(rest)
	open := make(chan struct{})
	body, ctype := multipartBody([][2]string{{"body", "a report whose upload is swept"}},
		[]file{{name: "evidence.bin", ctype: "application/octet-stream", r: io.MultiReader(bytes.NewReader(first), &gate{open: open, r: bytes.NewReader(rest)})}})
	type result struct {
		status int
		page   string
	}
	done := make(chan result, 1)
	go func() {
		res, err := client(t).Post(ts.URL+"/report", ctype, body)
		if err != nil {
			done <- result{page: err.Error()}
			return
		}
		defer res.Body.Close()
		page, _ := io.ReadAll(res.Body)
		done <- result{status: res.StatusCode, page: string(page)}
	}()

	// Progress: the instance has stored chunks of the upload.
	id := ts.DB.InstanceID()
	for {
		var chunks int64
		must(t, raw.QueryRow(ts.rawSQL(`SELECT count(*) FROM attachment_chunks c JOIN attachments a ON a.id = c.attachment_id
			WHERE a.instance_id = ? AND a.message_id IS NULL`), id).Scan(&chunks))
		if chunks >= 1 {
			break
		}
		raw.Exec(`SELECT pg_sleep(0.01)`)
	}
	// Its lock connection ends; an instance starting sweeps its upload.
	var pid int64
	must(t, raw.QueryRow(ts.rawSQL(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = ?::bigint::oid AND objid = ?::bigint::oid`), int64(0x63616e69), id).Scan(&pid))
	var ok bool
	must(t, raw.QueryRow(ts.rawSQL(`SELECT pg_terminate_backend(?::integer)`), pid).Scan(&ok))
	for {
		var held int64
		must(t, raw.QueryRow(ts.rawSQL(`SELECT count(*) FROM pg_stat_activity WHERE pid = ?::integer`), pid).Scan(&held))
		if held == 0 {
			break
		}
		raw.Exec(`SELECT pg_sleep(0.01)`)
	}
	sweeper, err := storage.OpenPostgres(ts.DSN)
	must(t, err)
	defer sweeper.Close()
	var pending int64
	must(t, raw.QueryRow(`SELECT count(*) FROM attachments`).Scan(&pending))
	if pending != 0 {
		t.Fatalf("%d attachments left after the sweep, want 0", pending)
	}

	close(open)
	r := <-done
	if r.status == http.StatusOK || strings.Contains(r.page, `id="case-code"`) {
		t.Fatalf("the request whose upload was swept got a receipt: %d\n%s", r.status, r.page)
	}
	if r.status < 500 {
		t.Errorf("status %d, want a server error (not the reporter's fault)", r.status)
	}
	counts := func() (cases, attachments int64) {
		must(t, raw.QueryRow(`SELECT count(*) FROM cases`).Scan(&cases))
		must(t, raw.QueryRow(`SELECT count(*) FROM attachments`).Scan(&attachments))
		return
	}
	if cases, attachments := counts(); cases != 0 || attachments != 0 {
		t.Fatalf("after the failed request: %d cases, %d attachments; want none", cases, attachments)
	}

	// The instance registers again and takes the next report with its file.
	submit(t, ts, "the next report", file{name: "evidence.bin", ctype: "application/octet-stream", r: bytes.NewReader(rest)})
	if ts.DB.InstanceID() == id {
		t.Error("the instance did not register again")
	}
	if cases, attachments := counts(); cases != 1 || attachments != 1 {
		t.Fatalf("after the next report: %d cases, %d attachments; want 1 and 1", cases, attachments)
	}
	_ = ctx
}

// The background jobs run under their locks: while another holds the
// retention lock (here a third connection, as a busy instance would), a
// starting instance's first retention run skips its turn, and runs once
// the lock is free.
func TestInstancesBackgroundRetentionSkipsWhileLocked(t *testing.T) {
	t.Parallel()
	if testEngine() != storage.EnginePostgres {
		t.Skip("several instances share one database only on PostgreSQL")
	}
	ts := startServer(t, nil)
	raw := rawDB(t, ts)
	// Exclusive's lock of "retention": class "canx", key FNV-1a of the name.
	key := uint32(2166136261)
	for _, c := range []byte("retention") {
		key ^= uint32(c)
		key *= 16777619
	}
	if _, err := raw.Exec(ts.rawSQL(`SELECT pg_advisory_lock(?::integer, ?::integer)`), int32(0x63616e78), int32(key)); err != nil {
		t.Fatal(err)
	}
	other := sameDatabaseInstance(t, ts, nil)
	const skipped = `msg="background work skipped: another instance is doing it" work=retention`
	for !strings.Contains(other.Log.String(), skipped) {
		raw.Exec(`SELECT pg_sleep(0.01)`)
	}
	if strings.Contains(other.Log.String(), "retention run failed") {
		t.Errorf("a skipped run logged a failure:\n%s", other.Log.String())
	}
	var released bool
	must(t, raw.QueryRow(ts.rawSQL(`SELECT pg_advisory_unlock(?::integer, ?::integer)`), int32(0x63616e78), int32(key)).Scan(&released))
	if !released {
		t.Fatal("the test's lock was not held")
	}
	// Free again: an instance takes it (Exclusive on the instance's DB).
	ran, err := other.DB.Exclusive(context.Background(), "retention", func(context.Context) error { return nil })
	if err != nil || !ran {
		t.Fatalf("after the lock was released: ran=%v err=%v", ran, err)
	}
}
