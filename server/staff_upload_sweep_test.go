package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// A staff upload that no reply ever names is swept once it is a day old,
// while the server runs (it used to stay until a restart).
func TestUnusedStaffUploadsAreSwept(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	submit(t, ts, "a report")
	c, csrf := loggedIn(t, ts, "nora", storage.RoleCaseworker)
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	ref := cases[0].Ref
	res, body := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/attachment", csrf, nil, []byte("age-encryption.org/v1\nfake"))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d: %s", res.StatusCode, body)
	}
	attachments := func() int64 {
		_, _, a, _, err := ts.DB.CountRows(ctx)
		must(t, err)
		return a
	}
	if attachments() != 1 {
		t.Fatalf("%d attachments after the upload, want 1", attachments())
	}
	ts.advance(23 * time.Hour)
	if n, err := ts.Srv.SweepStaffUploads(ctx); err != nil || n != 0 {
		t.Fatalf("a fresh upload: swept %d, %v", n, err)
	}
	if attachments() != 1 {
		t.Fatal("a fresh upload was deleted")
	}
	ts.advance(2 * time.Hour)
	if n, err := ts.Srv.SweepStaffUploads(ctx); err != nil || n != 1 {
		t.Fatalf("a day-old upload: swept %d, %v; want 1", n, err)
	}
	if attachments() != 0 {
		t.Fatal("the day-old upload is still stored")
	}
}
