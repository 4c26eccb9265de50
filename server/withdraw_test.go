package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

// TestReporterWithdrawsAndTheCiphertextIsGone withdraws a case and then
// searches the database files for pieces of its stored ciphertext.
func TestReporterWithdrawsAndTheCiphertextIsGone(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	evidence := make([]byte, 3<<20)
	rand.Read(evidence)
	code := submit(t, ts, "to be withdrawn", file{name: "e.bin", ctype: "application/octet-stream", r: bytes.NewReader(evidence)})
	keep := submit(t, ts, "another reporter's case")

	// Samples of the stored ciphertext: message and attachment chunks.
	ctx := context.Background()
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	var target storage.CaseSummary
	for _, cs := range cases {
		if cs.Messages == 1 {
			msgs, _ := ts.DB.Messages(ctx, cs.ID)
			if len(msgs[0].Attachments) == 1 {
				target = cs
			}
		}
	}
	msgs, err := ts.DB.Messages(ctx, target.ID)
	must(t, err)
	_, r, err := ts.DB.Attachment(ctx, msgs[0].Attachments[0].ID)
	must(t, err)
	ct, err := io.ReadAll(r)
	must(t, err)
	samples := [][]byte{msgs[0].Ciphertext[len(msgs[0].Ciphertext)-48:], ct[1<<20 : 1<<20+48], ct[len(ct)-48:]}

	// The SQLite files are checked for the ciphertext's absence and their
	// space given back below; PostgreSQL's data directory and WAL have a
	// scan of their own (the plaintext scan), and deletion there is
	// vacuum's, not the file's.
	onFiles := testEngine() == storage.EngineSQLite
	if onFiles {
		must(t, ts.DB.Checkpoint(ctx))
	}
	// Both files: the attachment's chunks are in the chunk file.
	// The databases and their WALs: chunks not yet checkpointed are in the
	// chunk file's WAL.
	dataSize := func() int64 {
		var n int64
		for _, name := range []string{storage.FileName, storage.FileName + "-wal", storage.ChunksFileName, storage.ChunksFileName + "-wal"} {
			if st, err := os.Stat(filepath.Join(ts.DataDir, name)); err == nil {
				n += st.Size()
			}
		}
		return n
	}
	var sizeBefore int64
	if onFiles {
		sizeBefore = dataSize()
	}

	c := login(t, ts, code)
	_, page := get(t, c, ts.URL+"/case/withdraw")
	csrf := csrfOf(t, page)
	// Without the confirmation box nothing happens.
	res, _ := post(t, c, ts.URL+"/case/withdraw", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("withdraw without confirmation: %d", res.StatusCode)
	}
	res, page = post(t, c, ts.URL+"/case/withdraw", strings.NewReader(url.Values{"csrf": {csrf}, "confirm": {"yes"}}.Encode()),
		"application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "has been deleted") {
		t.Fatalf("withdraw: %d", res.StatusCode)
	}
	if got := counts(t, ts.DB); got != [4]int64{1, 1, 0, 0} {
		t.Fatalf("rows after withdrawal = %v, want only the other case", got)
	}
	// The withdrawal is counted for the day, never audited in the timed
	// trail (which would place it between staff actions).
	trail, _, err := ts.DB.AuditPage(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range trail {
		if e.Actor == storage.ActorReporter || e.Action == storage.ActionCaseWithdrawn {
			t.Errorf("reporter event in the timed audit trail: %+v", e)
		}
	}
	act, err := ts.DB.ReporterActivity(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(act) != 1 || act[0].Action != storage.ActionCaseWithdrawn || act[0].Count != 1 ||
		act[0].Day.Unix()%86400 != 0 {
		t.Errorf("reporter activity = %+v, want one withdrawal counted to the day", act)
	}
	if _, err := ts.DB.AppendAudit(context.Background(), storage.AuditEntry{Actor: storage.ActorReporter, Action: "x"}); err == nil {
		t.Error("the timed trail accepted a reporter entry")
	}
	// The code no longer opens anything; the other case is untouched.
	refused, _ := post(t, client(t), ts.URL+"/followup", strings.NewReader("code="+code), "application/x-www-form-urlencoded")
	if refused.StatusCode != http.StatusForbidden {
		t.Fatalf("a withdrawn case's code still works: %d", refused.StatusCode)
	}
	login(t, ts, keep)

	if !onFiles {
		return
	}
	// The space is given back, not just zeroed.
	if after := dataSize(); after > sizeBefore-2<<20 {
		t.Errorf("database files %d bytes before, %d after deleting 3 MB: space not reclaimed", sizeBefore, after)
	}
	entries, err := os.ReadDir(ts.DataDir)
	must(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(ts.DataDir, e.Name()))
		must(t, err)
		for i, s := range samples {
			if bytes.Contains(b, s) {
				t.Errorf("%s still holds ciphertext sample %d of the withdrawn case", e.Name(), i)
			}
		}
	}
}
