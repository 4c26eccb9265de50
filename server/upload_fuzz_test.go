package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// FuzzReportSubmit throws arbitrary multipart bodies at POST /report and
// checks invariant 7: every answer is a success or a clear refusal, and a
// refusal leaves nothing behind.
func FuzzReportSubmit(f *testing.F) {
	const boundary = "fuzzboundary"
	part := func(name, filename, body string) string {
		d := `form-data; name="` + name + `"`
		if filename != "" {
			d += `; filename="` + filename + `"`
		}
		return "--" + boundary + "\r\nContent-Disposition: " + d + "\r\n\r\n" + body + "\r\n"
	}
	f.Add([]byte(part("body", "", "a report") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("body", "", "x") + part("attachments", "a.txt", "data") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("attachments", "../../x", "\xFF\xD8\xFF\xE1\x00\x02") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("body", "", "\xff\xfe") + "--" + boundary + "--\r\n"))
	f.Add([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\ntruncated"))
	f.Add([]byte(part("website", "", "spam") + part("body", "", "x") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("q_platform", "", "WhatsApp") + part("q_when_from", "", "2024-03") + part("body", "", "x") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("q_platform", "", "MySpace") + part("attachments", "a.txt", "data") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("q_force", "", "a") + part("q_force", "", "b") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("q_when_from", "", "2024-09") + part("q_when_to", "", "2024-01") + part("q_people", "a.txt", "x") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("questionnaire", "", "police-conduct@1") + part("q_platform", "", "Signal") + part("body", "", "x") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("questionnaire", "", "channel-1@1") + part("q_platform", "", "Signal") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("q_platform", "", "Signal") + part("questionnaire", "", "police-conduct@1") + "--" + boundary + "--\r\n"))
	f.Add([]byte{})

	db, err := storage.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	org, _ := age.GenerateHybridIdentity()
	rs, _ := crypto.ParseRecipientsString(org.Recipient().String())
	s, err := New(Config{Recipients: rs, KDF: crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1},
		LoginFloor: time.Millisecond, MaxTextChars: 1000, MaxFiles: 3, MaxFileBytes: 1 << 16, MaxUploadBytes: 1 << 18,
		SubmissionsPerMinute: 1 << 30, CleanerPath: cleanerPath, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, db)
	if err != nil {
		f.Fatal(err)
	}
	defer s.Shutdown(context.Background())

	f.Fuzz(func(t *testing.T, body []byte) {
		before := [4]int64{}
		before[0], before[1], before[2], before[3], _ = db.CountRows(context.Background())
		req := httptest.NewRequest("POST", "/report", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		res, err := s.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		after := [4]int64{}
		after[0], after[1], after[2], after[3], _ = db.CountRows(context.Background())
		switch res.StatusCode {
		case 200:
			if after[0] != before[0]+1 || after[1] != before[1]+1 || after[2]-before[2] > 3 {
				t.Fatalf("a success stored %v -> %v", before, after)
			}
		case 400, 413:
			if after != before {
				t.Fatalf("a refusal (%d) left rows behind: %v -> %v", res.StatusCode, before, after)
			}
		default:
			t.Fatalf("unexpected status %d", res.StatusCode)
		}
	})
}
