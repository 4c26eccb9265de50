package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuestionnaireSetAndShow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	candour(t, "admin", "create", "--data", data, "--username", "ops")

	// With none stored, the channel asks the built-in questionnaire.
	var builtin struct {
		Steps []struct {
			Questions []struct{ ID string }
		}
	}
	if err := json.Unmarshal([]byte(candour(t, "questionnaire", "show", "--data", data, "--channel", "1")), &builtin); err != nil {
		t.Fatal(err)
	}
	if len(builtin.Steps) != 1 || builtin.Steps[0].Questions[0].ID != "force" {
		t.Fatalf("built-in: %+v", builtin)
	}

	def := `{"steps": [{"questions": [{"id": "what", "type": "short_text", "required": true, "label": {"en": "What?"}}]}]}`
	file := filepath.Join(dir, "q.json")
	if err := os.WriteFile(file, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 2; v++ {
		out := candour(t, "questionnaire", "set", "--data", data, "--channel", "1", file)
		if want := "Stored version " + string(rune('0'+v)) + " of channel 1"; !strings.Contains(out, want) {
			t.Fatalf("set: %s", out)
		}
	}
	if out := candour(t, "questionnaire", "show", "--data", data, "--channel", "1", "--version", "1"); !strings.Contains(out, `"What?"`) {
		t.Fatalf("show --version 1: %s", out)
	}
	if out := candour(t, "audit", "verify", "--data", data); !strings.Contains(out, "intact: 3 entries") {
		t.Fatalf("audit: %s", out)
	}

	// A definition that does not check out, or a channel that does not
	// exist, stores nothing.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"steps": [{"questions": [{"id": "x", "type": "colour", "label": {"en": "?"}}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"questionnaire", "set", "--data", data, "--channel", "1", bad},
		{"questionnaire", "set", "--data", data, "--channel", "9", file},
		{"questionnaire", "show", "--data", data, "--channel", "1", "--version", "3"},
		{"questionnaire", "set", "--data", data, file},
	} {
		if out, err := onEngine(t, exec.Command(candourBin, args...)).CombinedOutput(); err == nil {
			t.Errorf("candour %s succeeded: %s", strings.Join(args, " "), out)
		}
	}
	if out := candour(t, "audit", "verify", "--data", data); !strings.Contains(out, "intact: 3 entries") {
		t.Fatalf("audit after refusals: %s", out)
	}
}
