package server

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// FuzzReportStep throws arbitrary urlencoded bodies at POST /report/step,
// for a channel asking a questionnaire of three steps: every answer is a
// page (the next, the previous or the same step again) or a clear
// refusal, and nothing is ever stored.
func FuzzReportStep(f *testing.F) {
	def := `{"steps": [
 {"questions": [{"id": "role", "type": "choice", "required": true, "label": {"en": "Who?"},
   "choices": [{"value": "A", "label": {"en": "A"}}, {"value": "B", "label": {"en": "B"}}]},
  {"id": "seen", "type": "yes_no", "label": {"en": "Seen?"}}]},
 {"when": {"question": "role", "values": ["A"]}, "questions": [
  {"id": "apps", "type": "multi_choice", "label": {"en": "Apps?"}, "choices": [{"value": "X", "label": {"en": "X"}}]},
  {"id": "days", "type": "date_range", "precision": "day", "label": {"en": "When?"}}]},
 {"questions": [{"id": "what", "type": "long_text", "label": {"en": "What?"}},
  {"id": "day", "type": "date", "label": {"en": "Day?"}}, {"id": "shot", "type": "file", "label": {"en": "Shot?"}}]}]}`
	f.Add("channel=1&questionnaire=channel-1%401&step=0&q_role=A&q_seen=Yes&nav=next")
	f.Add("channel=1&questionnaire=channel-1%401&step=1&q_role=A&q_apps=X&q_apps=X&q_days_from=2024-02-30&nav=next")
	f.Add("channel=1&questionnaire=channel-1%401&step=2&q_role=B&body=text&attachments=a.png&q_shot=b.png&nav=back")
	f.Add("channel=1&questionnaire=police-conduct%401&step=0&q_platform=MySpace&nav=next")
	f.Add("channel=1&questionnaire=channel-2%401&step=0")
	f.Add("channel=1&step=01&form=x")
	f.Add("channel=9&step=0")
	f.Add("%zz")
	f.Add(strings.Repeat("q_role=A&", 100))
	f.Add("")

	db, err := storage.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SaveQuestionnaire(context.Background(), storage.DefaultChannel, 0, []byte(def), 0); err != nil {
		f.Fatal(err)
	}
	org, _ := age.GenerateHybridIdentity()
	rs, _ := crypto.ParseRecipientsString(org.Recipient().String())
	s, err := New(Config{Recipients: rs, KDF: crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1},
		LoginFloor: time.Millisecond, MaxTextChars: 1000, MaxFiles: 3, MaxFileBytes: 1 << 16, MaxUploadBytes: 1 << 18,
		SubmissionsPerMinute: 1 << 30, CleanerPath: cleanerPath, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, db)
	if err != nil {
		f.Fatal(err)
	}
	defer s.Shutdown(context.Background())

	f.Fuzz(func(t *testing.T, body string) {
		before := [4]int64{}
		before[0], before[1], before[2], before[3], _ = db.CountRows(context.Background())
		req := httptest.NewRequest("POST", "/report/step", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := s.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		after := [4]int64{}
		after[0], after[1], after[2], after[3], _ = db.CountRows(context.Background())
		if after != before {
			t.Fatalf("a step stored something: %v -> %v", before, after)
		}
		if res.StatusCode != 200 && res.StatusCode != 400 && res.StatusCode != 413 {
			t.Fatalf("unexpected status %d", res.StatusCode)
		}
	})
}
