package crypto

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
)

// SummaryVersion is the version of the Summary structure written today.
const SummaryVersion = 1

// Limits of a summary, in characters: it is a line or two for the inbox,
// never the report.
const (
	MaxSummaryFirstLine = 200
	MaxSummaryChannel   = 200
	MaxSummaryLabel     = 100
	MaxSummaryValue     = 100
	MaxSummaryAnswers   = 3
)

// maxSummarySize bounds a summary's encoded plaintext, for OpenSummary.
const maxSummarySize = 16 << 10

// Summary is the plaintext inside a case's inbox summary: what a
// caseworker needs to see what a case is about without opening it. It is
// sealed by the server with the report, to the staff side only (the
// organisation's keys and the channel's, never the case's own: the
// reporter never needs it), and holds nothing the report does not.
type Summary struct {
	Version   int             `json:"v"`
	Channel   string          `json:"channel"`
	FirstLine string          `json:"first_line"`
	Answers   []SummaryAnswer `json:"answers"`
}

// SummaryAnswer is one answer shown in the inbox: the question's label
// and the answer, in English as stored.
type SummaryAnswer struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// NewSummary makes the summary of a report: its channel's name, the first
// line of its text that is not blank, and at most MaxSummaryAnswers
// answers, each cut to its limit on a rune boundary (with "…" where cut).
// Unreadable bytes and control characters become spaces or "�", so that
// the summary is always one line of valid text per field.
func NewSummary(channel, text string, answers []SummaryAnswer) Summary {
	s := Summary{Version: SummaryVersion, Channel: cutLine(channel, MaxSummaryChannel), Answers: []SummaryAnswer{}}
	for _, line := range strings.Split(text, "\n") {
		if l := cutLine(line, MaxSummaryFirstLine); l != "" {
			s.FirstLine = l
			break
		}
	}
	for _, a := range answers {
		if len(s.Answers) == MaxSummaryAnswers {
			break
		}
		v := cutLine(a.Value, MaxSummaryValue)
		if v == "" {
			continue
		}
		s.Answers = append(s.Answers, SummaryAnswer{Label: cutLine(a.Label, MaxSummaryLabel), Value: v})
	}
	return s
}

// cutLine makes s one line of valid UTF-8 without control characters,
// trimmed, of at most limit characters (the last one "…" if it was cut).
func cutLine(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	runes := []rune(s)
	return strings.TrimRightFunc(string(runes[:limit-1]), unicode.IsSpace) + "…"
}

// SealSummary encodes s and encrypts it into one age file to recipients.
func SealSummary(s Summary, recipients []age.Recipient) ([]byte, error) {
	s.Version = SummaryVersion
	plain, err := encodeJSON(s)
	if err != nil {
		return nil, err
	}
	return sealBytes("summary", plain, recipients)
}

// OpenSummary decrypts and decodes a summary sealed by SealSummary.
func OpenSummary(ciphertext []byte, identities ...age.Identity) (Summary, error) {
	plain, err := openBytes("summary", ciphertext, maxSummarySize, identities)
	if err != nil {
		return Summary{}, err
	}
	var s Summary
	if err := json.Unmarshal(plain, &s); err != nil {
		return Summary{}, fmt.Errorf("malformed summary: %w", err)
	}
	if s.Version != SummaryVersion {
		return Summary{}, fmt.Errorf("unsupported summary version %d", s.Version)
	}
	return s, nil
}
