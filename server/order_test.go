package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// orderRun is what one run of TestReporterActivityCannotBeOrderedAgainstStaff
// leaves behind, with every random value (ids, references, tokens, keys)
// replaced by a label that names the row by what it is, not when it came.
type orderRun struct {
	tables []string // every row of every table, one line each, sorted
	audit  string   // the audit page's entries
	inbox  []string // the inbox's rows, sorted
	page   string   // the staff case page of the report
	ids    []int64  // the ids the report's rows got
}

// TestReporterActivityCannotBeOrderedAgainstStaff makes two runs: in one a
// report (with a file) and a follow-up message (with a file) arrive before
// two timed staff actions on another case (a reply with an upload, then
// opening that case), in the other after them. Everything stored and every
// staff page must be the same in both, once random values are named by what
// they are: nothing lets one tell whether the report came before or after.
func TestReporterActivityCannotBeOrderedAgainstStaff(t *testing.T) {
	t.Parallel()
	before := orderScenario(t, true)
	after := orderScenario(t, false)
	if a, b := strings.Join(before.tables, "\n"), strings.Join(after.tables, "\n"); a != b {
		t.Errorf("stored rows tell the runs apart:\nreport first:\n%s\nreport last:\n%s", a, b)
	}
	if before.audit != after.audit {
		t.Errorf("audit page tells the runs apart:\nreport first:\n%s\nreport last:\n%s", before.audit, after.audit)
	}
	if a, b := strings.Join(before.inbox, "\n"), strings.Join(after.inbox, "\n"); a != b {
		t.Errorf("inbox tells the runs apart:\nreport first:\n%s\nreport last:\n%s", a, b)
	}
	if before.page != after.page {
		t.Errorf("case page tells the runs apart:\nreport first:\n%s\nreport last:\n%s", before.page, after.page)
	}
	// Ids are random, not the next of a sequence shared with staff rows:
	// a sequence would start near 1. (A random id in [1, 2^53) is below 2^24
	// once in 2^29 draws.)
	for _, run := range []orderRun{before, after} {
		for _, id := range run.ids {
			if id < 1<<24 || id >= 1<<53 {
				t.Errorf("a report's row has id %d: not a random id", id)
			}
		}
	}
}

func orderScenario(t *testing.T, reportFirst bool) orderRun {
	ts := startServer(t, nil)
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	ts.Clock.Store(start.UnixNano())
	at := func(d time.Duration) { ts.Clock.Store(start.Add(d).UnixNano()) }
	ctx := context.Background()

	// Before either run's report: another case, a caseworker and an admin.
	submit(t, ts, "an earlier case")
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	other, err := ts.DB.Case(ctx, cases[0].ID)
	must(t, err)
	hana, csrf := loggedIn(t, ts, "hana", storage.RoleCaseworker)
	root, _ := loggedIn(t, ts, "root", storage.RoleAdmin)

	report := func() {
		code := submit(t, ts, "the report", file{name: "chat.png", ctype: "image/png", r: strings.NewReader("evidence bytes")})
		rc := login(t, ts, code)
		_, page := get(t, rc, ts.URL+"/case")
		body, ctype := multipartBody([][2]string{{"csrf", csrfOf(t, page)}, {"body", "more"}},
			[]file{{name: "more.txt", ctype: "text/plain", r: strings.NewReader("more evidence")}})
		if res, _ := post(t, rc, ts.URL+"/case/message", body, ctype); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("follow-up message: %d", res.StatusCode)
		}
	}
	staff := func() {
		// Timed staff action 1: an upload and a reply on the other case.
		at(10 * time.Minute)
		rs, err := crypto.ParseRecipientsString(ts.OrgKey.Recipient().String())
		must(t, err)
		recipients, err := rs.ForCase(other.Recipient)
		must(t, err)
		var f bytes.Buffer
		w, _ := age.Encrypt(&f, recipients...)
		w.Write([]byte("guidance"))
		w.Close()
		res, body := staffUpload(t, hana, ts.URL+"/staff/case/"+other.Ref+"/attachment", csrf, nil, f.Bytes())
		var up struct{ ID int64 }
		if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &up) != nil {
			t.Fatalf("upload: %d %s", res.StatusCode, body)
		}
		sealed, err := crypto.SealMessage(crypto.Message{Text: "a question",
			Attachments: []crypto.Attachment{{ID: up.ID, Name: "g.txt", Type: "text/plain", Size: 8}}}, recipients)
		must(t, err)
		if res, body := staffUpload(t, hana, ts.URL+"/staff/case/"+other.Ref+"/reply", csrf,
			[][2]string{{"message", string(sealed)}, {"attachments", strconv.FormatInt(up.ID, 10)}}, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("reply: %d %s", res.StatusCode, body)
		}
		// Timed staff action 2, four seconds later: opening that case.
		at(10*time.Minute + 4*time.Second)
		if res, _ := get(t, hana, ts.URL+"/staff/case/"+other.Ref); res.StatusCode != http.StatusOK {
			t.Fatalf("open: %d", res.StatusCode)
		}
	}
	if reportFirst {
		at(10*time.Minute - 2*time.Second)
		report()
		staff()
	} else {
		staff()
		at(10*time.Minute + 6*time.Second)
		report()
	}

	// Afterwards, at the same time in both runs, staff look.
	at(20 * time.Minute)
	cases, _, err = ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	if len(cases) != 2 {
		t.Fatalf("%d cases, want 2", len(cases))
	}
	var rep storage.Case
	for _, c := range cases {
		if c.ID != other.ID {
			rep, err = ts.DB.Case(ctx, c.ID)
			must(t, err)
		}
	}

	// Labels: cases by role, messages by case and place in the thread,
	// attachments by message and place, chunks by attachment and seq.
	labels := map[int64]string{other.ID: "case-other", rep.ID: "case-report"}
	refs := map[string]string{other.Ref: "REF-other", rep.Ref: "REF-report"}
	var ids []int64
	ids = append(ids, rep.ID)
	for _, cs := range []storage.Case{other, rep} {
		msgs, err := ts.DB.Messages(ctx, cs.ID)
		must(t, err)
		for _, m := range msgs {
			ml := fmt.Sprintf("%s/msg%d", labels[cs.ID], m.Seq)
			labels[m.ID] = ml
			if cs.ID == rep.ID {
				ids = append(ids, m.ID)
			}
			for i, a := range m.Attachments {
				labels[a.ID] = fmt.Sprintf("%s/att%d", ml, i)
				if cs.ID == rep.ID {
					ids = append(ids, a.ID)
				}
			}
		}
	}
	// On SQLite, both files; on PostgreSQL, the one database, whose
	// attachment_chunks holds every chunk.
	pg := ts.DSN != ""
	var db, cdb *sql.DB
	if pg {
		db = rawDB(t, ts)
	} else {
		db, err = sql.Open("sqlite3", "file:"+filepath.Join(ts.DataDir, "candour.db")+"?mode=ro")
		must(t, err)
		defer db.Close()
		cdb, err = sql.Open("sqlite3", "file:"+filepath.Join(ts.DataDir, storage.ChunksFileName)+"?mode=ro")
		must(t, err)
		defer cdb.Close()
	}
	// Chunks are in the chunk file (those of attachments older than it in
	// candour.db's attachment_chunks).
	chunkQuery, chunkDB := `SELECT id, attachment_id, seq FROM chunks`, cdb
	if pg {
		chunkQuery, chunkDB = `SELECT id, attachment_id, seq FROM attachment_chunks`, db
	}
	chunks, err := chunkDB.Query(chunkQuery)
	must(t, err)
	for chunks.Next() {
		var id, aid, seq int64
		must(t, chunks.Scan(&id, &aid, &seq))
		labels[id] = fmt.Sprintf("%s/chunk%d", labels[aid], seq)
		if strings.HasPrefix(labels[aid], "case-report") {
			ids = append(ids, id)
		}
	}
	must(t, chunks.Err())
	chunks.Close()

	numRE := regexp.MustCompile(`\d{5,}`)
	norm := func(s string) string {
		for ref, l := range refs {
			s = strings.ReplaceAll(s, ref, l)
		}
		return numRE.ReplaceAllStringFunc(s, func(n string) string {
			v, err := strconv.ParseInt(n, 10, 64)
			if l, ok := labels[v]; ok && err == nil {
				return l
			}
			return n
		})
	}

	// Every row of every table of both files, rowid included where there
	// is one. On PostgreSQL, every row of every table and every sequence's
	// position, but not three things that SECURITY.md ("Known
	// limitations", PostgreSQL) lists as telling PostgreSQL's files apart
	// from SQLite's, each shown by a test of its own: a row's place in the
	// table's heap (ctid), which is the order rows were written in, and
	// the WAL's commit times (internal/pgtest,
	// TestGuideWALAndHeapKeepWhenRowsWereWritten); the minute a live
	// reporter session was last used (reporter_sessions, on SQLite in
	// memory: TestReporterSessionsAndReceiptsCrossInstances); and the
	// submission budget's counts of the current and last minute
	// (submission_counts, unlogged; on SQLite in memory).
	if pg {
		inst, err := db.Query(`SELECT id FROM instances`)
		must(t, err)
		for inst.Next() {
			var id int64
			must(t, inst.Scan(&id))
			labels[id] = "this-instance" // random, drawn at start
		}
		must(t, inst.Err())
		inst.Close()
	}
	var out orderRun
	out.ids = ids
	fileOf := map[string]*sql.DB{}
	var tables []string
	listTables, rowPlace, files := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`, "rowid", []*sql.DB{db, cdb}
	if pg {
		listTables = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
		rowPlace, files = "", []*sql.DB{db}
		seqs, err := db.Query(`SELECT sequencename, COALESCE(last_value, 0) FROM pg_sequences WHERE schemaname = current_schema()`)
		must(t, err)
		for seqs.Next() {
			var name string
			var last int64
			must(t, seqs.Scan(&name, &last))
			out.tables = append(out.tables, fmt.Sprintf("sequence %s: last_value=%d", name, last))
		}
		must(t, seqs.Err())
		seqs.Close()
	}
	for _, f := range files {
		names, err := f.Query(listTables)
		must(t, err)
		for names.Next() {
			var n string
			must(t, names.Scan(&n))
			tables, fileOf[n] = append(tables, n), f
		}
		names.Close()
	}
	for _, tbl := range tables {
		if pg && tbl == "submission_counts" {
			continue
		}
		var rows *sql.Rows
		if rowPlace != "" {
			rows, err = fileOf[tbl].Query(`SELECT ` + rowPlace + ` AS "(` + rowPlace + `)", * FROM "` + tbl + `"`)
		}
		if rowPlace == "" || err != nil { // PostgreSQL, or WITHOUT ROWID
			rows, err = fileOf[tbl].Query(`SELECT * FROM "` + tbl + `"`)
		}
		must(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			must(t, rows.Scan(ptrs...))
			var line []string
			for i, v := range vals {
				var s string
				switch v := v.(type) {
				case int64:
					s = strconv.FormatInt(v, 10)
					if l, ok := labels[v]; ok {
						s = l
					}
					if tbl == "reporter_sessions" && (cols[i] == "idle_until" || cols[i] == "ends_at") {
						s = "minute"
					}
				case []byte:
					// Hashes and ciphertext: random content, and a message's
					// size varies with the digits of the random ids it names.
					s = "blob"
				case string:
					s = norm(v)
					switch cols[i] {
					case "csrf", "password_hash", "totp_secret", "recipient", "label", "value":
						s = "text"
					case "owner": // a random token of the uploading request
						s = regexp.MustCompile(`^upload:.*`).ReplaceAllString(s, "upload:token")
					}
				default:
					s = fmt.Sprint(v)
				}
				line = append(line, cols[i]+"="+s)
			}
			out.tables = append(out.tables, tbl+": "+strings.Join(line, " "))
		}
		must(t, rows.Err())
		rows.Close()
	}
	sort.Strings(out.tables)

	// Reporter rows carry days only.
	var reporterTimes []int64
	r, err := db.Query(`SELECT created_at FROM cases UNION ALL SELECT updated_at FROM cases
		UNION ALL SELECT created_at FROM messages UNION ALL SELECT expires FROM used_forms
		UNION ALL SELECT day FROM reporter_activity`)
	must(t, err)
	for r.Next() {
		var v int64
		must(t, r.Scan(&v))
		reporterTimes = append(reporterTimes, v)
	}
	r.Close()
	for _, v := range reporterTimes {
		if v%86400 != 0 {
			t.Errorf("a reporter-side time %s is finer than the day", time.Unix(v, 0).UTC())
		}
	}

	// What staff see.
	_, audit := get(t, root, ts.URL+"/staff/admin/audit")
	if strings.Contains(audit, rep.Ref) {
		t.Errorf("the audit page names the report's case before anyone opened it")
	}
	out.audit = norm(csrfRE.ReplaceAllString(audit, "csrf"))
	_, inbox := get(t, hana, ts.URL+"/staff/")
	for _, row := range regexp.MustCompile(`(?s)<tr>.*?</tr>`).FindAllString(inbox, -1) {
		out.inbox = append(out.inbox, norm(row))
	}
	sort.Strings(out.inbox)
	_, page := get(t, hana, ts.URL+"/staff/case/"+rep.Ref)
	page = csrfRE.ReplaceAllString(page, "csrf")
	page = regexp.MustCompile(`data-(csrf|recipients|case-recipient)="[^"]*"`).ReplaceAllString(page, "data-$1")
	page = regexp.MustCompile(`nonce="[^"]*"`).ReplaceAllString(page, "nonce")
	out.page = norm(page)
	return out
}
