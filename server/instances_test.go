package server_test

import (
	"bytes"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// startPeer starts another server instance on ts's PostgreSQL database,
// with the same organisation key and clock, configured as ts is unless
// adjust says otherwise. It skips the test on SQLite, which has one
// instance per database.
func startPeer(t *testing.T, ts *testServer, adjust func(*server.Config)) *testServer {
	t.Helper()
	if ts.DSN == "" {
		t.Skip("several instances share one database only on PostgreSQL (CANDOUR_TEST_ENGINE=postgres)")
	}
	db, err := storage.OpenPostgres(ts.DSN)
	must(t, err)
	peer := serveOn(t, &testServer{Clock: ts.Clock, DB: db, DataDir: ts.DataDir, DSN: ts.DSN, OrgKey: ts.OrgKey}, adjust)
	peer.seen = ts.seen // one database: the cases looked at already are the same
	return peer
}

// A reporter whose requests land on different instances keeps their
// session, logging out on one ends it on the other, a report form sent
// again to the other instance gets the first one's receipt, and the rows
// that carry all this across hold neither the case code, nor the case
// identity, nor the cookie in clear. (The cookie jar keys cookies by host,
// not port, so one client's cookie goes to both instances, as it would to
// one address.)
func TestReporterSessionsAndReceiptsCrossInstances(t *testing.T) {
	t.Parallel()
	one := startServer(t, nil)
	two := startPeer(t, one, nil)

	// The repeated form: stored by instance one, sent again to two.
	tok := formToken(t, client(t), one.URL+"/report")
	body, ctype := reportForm(tok, "the sergeant's chat group, instance marker", []byte("evidence bytes"))
	res, page := post(t, client(t), one.URL+"/report", bytes.NewReader(body), ctype)
	m1 := caseCodeRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m1 == nil {
		t.Fatalf("report on instance one: %d: %s", res.StatusCode, page)
	}
	res, page = post(t, client(t), two.URL+"/report", bytes.NewReader(body), ctype)
	m2 := caseCodeRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m2 == nil || m2[1] != m1[1] {
		t.Fatalf("the same form on instance two: status %d, want the same case code %q: %s", res.StatusCode, m1[1], page)
	}
	if n := counts(t, one.DB)[0]; n != 1 {
		t.Errorf("%d cases stored, want 1", n)
	}
	code := strings.TrimSpace(m1[1])

	// Logged in on one; reading and writing on two.
	c := login(t, one, code)
	res, page = get(t, c, two.URL+"/case")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "instance marker") {
		t.Fatalf("the case on instance two: status %d: %s", res.StatusCode, page)
	}
	msg, mctype := multipartBody([][2]string{{"csrf", csrfOf(t, page)}, {"body", "follow-up written on instance two"}}, nil)
	if res, page := post(t, c, two.URL+"/case/message", msg, mctype); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("message on instance two: %d: %s", res.StatusCode, page)
	}
	res, page = get(t, c, one.URL+"/case")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "follow-up written on instance two") {
		t.Fatalf("the message back on instance one: status %d: %s", res.StatusCode, page)
	}

	// What rests in the database while the session and receipt live.
	var session *http.Cookie
	u, _ := url.Parse(one.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "candour_session" {
			session = ck
		}
	}
	if session == nil || len(session.Value) < 40 {
		t.Fatalf("no session cookie: %v", c.Jar.Cookies(u))
	}
	raw := rawDB(t, one)
	for _, table := range []string{"reporter_sessions", "report_receipts"} {
		var n int
		must(t, raw.QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
		if n == 0 {
			t.Errorf("%s is empty: nothing to scan", table)
		}
		dump := dumpTable(t, raw, table)
		for _, secret := range []string{code, strings.ReplaceAll(code, "-", ""), "AGE-SECRET-KEY", session.Value} {
			if bytes.Contains(bytes.ToUpper(dump), bytes.ToUpper([]byte(secret))) {
				t.Errorf("%s holds %.14q… in clear", table, secret)
			}
		}
	}

	// Logged out on two: ended on one.
	res, page = get(t, c, two.URL+"/case")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("case page: %d", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, two.URL+"/case/logout", strings.NewReader(url.Values{"csrf": {csrfOf(t, page)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Sent with a copy of the cookie, not through the jar, which the
	// logout's answer empties: instance one must refuse the cookie itself.
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	if res, _ := do(t, &http.Client{CheckRedirect: c.CheckRedirect}, req); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on instance two: %d", res.StatusCode)
	}
	if res, _ := get(t, c, one.URL+"/case"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout on instance two, instance one still serves the case (status %d)", res.StatusCode)
	}
	var left int
	must(t, raw.QueryRow(`SELECT count(*) FROM reporter_sessions`).Scan(&left))
	if left != 0 {
		t.Errorf("%d session rows after logout", left)
	}
}

// dumpTable is every row of table as one byte string (its columns' bytes
// as the driver returns them).
func dumpTable(t *testing.T, raw *sql.DB, table string) []byte {
	t.Helper()
	rows, err := raw.Query(`SELECT * FROM ` + table)
	must(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	must(t, err)
	var out bytes.Buffer
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, rows.Scan(ptrs...))
		for _, v := range vals {
			out.Write(v)
			out.WriteByte(0)
		}
	}
	must(t, rows.Err())
	return out.Bytes()
}
