package crypto_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
)

func TestNewSummaryIsShortAndOneLinePerField(t *testing.T) {
	answers := []crypto.SummaryAnswer{
		{Label: "Force", Value: "  Kent\nPolice\t"},
		{Label: "Empty", Value: "   "},
		{Label: strings.Repeat("L", 300), Value: "x"},
		{Label: "Platform", Value: strings.Repeat("😀", 150)},
		{Label: "Fourth", Value: "dropped"},
	}
	s := crypto.NewSummary("Channel\x00name", "\n \t\nFirst \x1b[31mline\xff\nsecond", answers)
	if s.Channel != "Channel name" || s.FirstLine != "First  [31mline\uFFFD" {
		t.Errorf("channel %q, first line %q", s.Channel, s.FirstLine)
	}
	if len(s.Answers) != crypto.MaxSummaryAnswers {
		t.Fatalf("%d answers, want %d: %+v", len(s.Answers), crypto.MaxSummaryAnswers, s.Answers)
	}
	if s.Answers[0] != (crypto.SummaryAnswer{Label: "Force", Value: "Kent Police"}) {
		t.Errorf("first answer %+v", s.Answers[0])
	}
	if n := utf8.RuneCountInString(s.Answers[1].Label); n != crypto.MaxSummaryLabel || !strings.HasSuffix(s.Answers[1].Label, "…") {
		t.Errorf("a long label is kept as %d characters", n)
	}
	if v := s.Answers[2].Value; utf8.RuneCountInString(v) != crypto.MaxSummaryValue || !utf8.ValidString(v) || !strings.HasSuffix(v, "😀…") {
		t.Errorf("a long value is cut as %q", v)
	}
	if s := crypto.NewSummary("c", "", nil); s.FirstLine != "" || s.Answers == nil {
		t.Errorf("a report without text: %+v", s)
	}
}

func TestSummaryRoundTrips(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s := crypto.NewSummary("General", "Something happened", []crypto.SummaryAnswer{{Label: "Force", Value: "Kent"}})
	sealed, err := crypto.SealSummary(s, []age.Recipient{id.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := crypto.OpenSummary(sealed, id)
	if err != nil || got.FirstLine != "Something happened" || got.Channel != "General" || len(got.Answers) != 1 || got.Version != 1 {
		t.Fatalf("OpenSummary = %+v, %v", got, err)
	}
	if _, err := crypto.OpenSummary(sealed, other); err == nil {
		t.Fatal("another key opened the summary")
	}
}
