package main

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/candour/candour/crypto"
)

func TestReadableDates(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"2024-03", "2024-05", "March 2024 to May 2024"},
		{"2024-03-05", "2024-05-31", "5 March 2024 to 31 May 2024"},
		{"2024-12", "", "from December 2024"},
		{"", "2024-01-10", "until 10 January 2024"},
		{"", "", ""},
		{"2024-13", "soon", "2024-13 to soon"}, // not dates: as written, never invented
	} {
		if got := readableRange(tc.from, tc.to); got != tc.want {
			t.Errorf("readableRange(%q, %q) = %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestTerminalTextKeepsTextAndShowsControls(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain text stays", "Kent Police, ünïcode, 警察, شرطة", "Kent Police, ünïcode, 警察, شرطة"},
		{"new lines and tabs stay", "a\n\tb", "a\n\tb"},
		{"Windows line ends become new lines", "a\r\nb\rc", "a\nb\nc"},
		{"an escape sequence is shown, not run", "\x1b[2J\x1b]0;title\x07", "␛[2J␛]0;title␇"},
		{"NUL and DEL are shown", "a\x00b\x7f", "a␀b␡"},
		{"C1 controls are replaced", "a\u009bb", "a\uFFFDb"},
		{"text is not reordered", "abc\u202edcb\u202c \u2066x\u2069", "abc\uFFFDdcb\uFFFD \uFFFDx\uFFFD"},
		{"invalid UTF-8 is replaced", "a\xffb", "a\uFFFDb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := terminalText(tc.in); got != tc.want {
				t.Errorf("terminalText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := oneLine("a\nb\tc"); got != "a b c" {
		t.Errorf("oneLine = %q", got)
	}
}

// FuzzTerminalText: whatever a reporter sends, the text written is valid
// UTF-8 with no control character but new lines and tabs, and nothing that
// reorders it.
func FuzzTerminalText(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31mred\x1b[0m", "a\r\nb", "\xff\xfe", "\u202e\u2067", "\u0085\u009b", "\x00\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := terminalText(s)
		if !utf8.ValidString(got) {
			t.Fatalf("terminalText(%q) is not valid UTF-8", s)
		}
		for _, r := range got {
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || unicode.Is(unicode.Bidi_Control, r) {
				t.Fatalf("terminalText(%q) = %q holds %U", s, got, r)
			}
		}
		if terminalText(got) != got {
			t.Fatalf("terminalText is not idempotent on %q", s)
		}
	})
}

func TestWriteAnswersReadsHostileAndOldAnswers(t *testing.T) {
	many := make([]string, maxAnswerValues+2)
	for i := range many {
		many[i] = fmt.Sprintf("v%d", i)
	}
	a := &crypto.Answers{Questionnaire: "police\x1b[2J", Version: 1, Items: []crypto.Answer{
		{ID: "old", Label: "Asked before types", Value: "as written"},
		{ID: "nolabel", Type: "short_text", Value: "labelled by its id"},
		{ID: "multi", Type: "multi_choice", Label: "Many\nlines", Values: many},
		{ID: "empty_multi", Type: "multi_choice", Label: "No values", Value: "the value"},
		{ID: "range", Type: "date_range", Label: "Range without ends", Value: "2024-03 to 2024-05"},
		{ID: "day", Type: "date", Label: "Day", Value: "2024-02-29"},
		{ID: "files", Type: "file", Label: "Files", Value: "../../etc/passwd", Values: []string{"../../etc/passwd"}},
		{ID: "failed", Type: "file", Label: "Failed"},
		{ID: "unknown", Type: "rating", Label: "How bad?", Value: "4"},
	}}
	var b strings.Builder
	writeAnswers(&b, a, map[string][]answerFile{"failed": {{Path: "attachments/x.png", Problem: "not decrypted"}}})
	got := b.String()
	for _, want := range []string{
		"Intake answers (police␛[2J, version 1)\n",
		"\nAsked before types: as written\n",
		"\nnolabel: labelled by its id\n",
		"\nMany lines:\n- v0\n",
		fmt.Sprintf("- v%d\n- … and 2 more\n", maxAnswerValues-1),
		"\nNo values: the value\n",
		"\nRange without ends: 2024-03 to 2024-05\n",
		"\nDay: 29 February 2024\n",
		"\nFiles:\n- passwd (not among this message's attachments)\n",
		"\nFailed:\n- attachments/x.png (not decrypted)\n",
		"\nHow bad?: 4\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answers text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, fmt.Sprintf("v%d\n", maxAnswerValues)) {
		t.Error("more values were written than the bound")
	}
}
