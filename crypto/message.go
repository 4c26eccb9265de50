package crypto

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
)

// MessageVersion is the version of the Message structure written today.
const MessageVersion = 1

// MaxMessageSize bounds a message's encoded plaintext, for SealMessage and
// OpenMessage alike: a message holds text and attachment metadata, never
// attachment bytes.
const MaxMessageSize = 4 << 20

// Message is the plaintext inside each message's age file. Everything that
// would describe the report (its text, the names, types and sizes of its
// files) lives here, so the database knows only ids and ciphertext sizes.
type Message struct {
	Version     int          `json:"v"`
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Answers are the reporter's answers to the intake questions, in the
	// first message of a case only. Optional: messages without them (all
	// before questionnaires, and every later message) are still version 1.
	Answers *Answers `json:"answers,omitempty"`
}

// Answers are the answers to one version of a questionnaire.
type Answers struct {
	Questionnaire string   `json:"questionnaire"`
	Version       int      `json:"version"`
	Items         []Answer `json:"items"`
}

// Answer is one question answered. Label is the question in English as it
// was asked, so that an old case reads as it was asked; Value is the
// answer as one readable text (a choice in English; a date range as
// "2024-03 to 2024-05"; several choices or files joined by "; "). Type is
// the question's type; Values hold a multiple choice's choices or a file
// question's file names (attachments of the same message whose Question is
// this answer's ID); From and To a date range's ends. Answers written
// before questionnaires had types have only ID, Label and Value.
type Answer struct {
	ID     string   `json:"id"`
	Type   string   `json:"type,omitempty"`
	Label  string   `json:"label"`
	Value  string   `json:"value"`
	Values []string `json:"values,omitempty"`
	From   string   `json:"from,omitempty"`
	To     string   `json:"to,omitempty"`
}

// Attachment describes one attachment of a message. The bytes are a separate
// age file, found by ID.
type Attachment struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex SHA-256 of the bytes as stored (before encryption)
	// Metadata cleaning on receipt: the SHA-256 of the file as the reporter
	// sent it (when cleaning changed it), what was removed, and whether the
	// reporter chose to keep the original.
	OriginalSHA256 string   `json:"original_sha256,omitempty"`
	Removed        []string `json:"removed,omitempty"`
	Cleaned        bool     `json:"cleaned,omitempty"`
	KeptOriginal   bool     `json:"kept_original,omitempty"`
	// Question is the id of the file question this file answers, if any.
	Question string `json:"question,omitempty"`
	// Note says why a recognised file was stored uncleaned (too large to
	// clean, password-protected...), as the reporter was told.
	Note string `json:"note,omitempty"`
}

// SealMessage encodes m and encrypts it into one age file to recipients.
func SealMessage(m Message, recipients []age.Recipient) ([]byte, error) {
	if !utf8.ValidString(m.Text) {
		return nil, errors.New("message text is not valid UTF-8")
	}
	if m.Answers != nil {
		for _, a := range m.Answers.Items {
			ok := utf8.ValidString(a.ID) && utf8.ValidString(a.Type) && utf8.ValidString(a.Label) && utf8.ValidString(a.Value) &&
				utf8.ValidString(a.From) && utf8.ValidString(a.To)
			for _, v := range a.Values {
				ok = ok && utf8.ValidString(v)
			}
			if !ok {
				return nil, errors.New("message answers are not valid UTF-8")
			}
		}
	}
	m.Version = MessageVersion
	plain, err := encodeJSON(m)
	if err != nil {
		return nil, err
	}
	if len(plain) > MaxMessageSize {
		return nil, errors.New("message too large")
	}
	return sealBytes("message", plain, recipients)
}

// OpenMessage decrypts and decodes a message sealed by SealMessage.
func OpenMessage(ciphertext []byte, identities ...age.Identity) (Message, error) {
	plain, err := openBytes("message", ciphertext, MaxMessageSize, identities)
	if err != nil {
		return Message{}, err
	}
	return DecodeMessage(plain)
}

// DecodeMessage decodes a decrypted message.
func DecodeMessage(plain []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(plain, &m); err != nil {
		return Message{}, fmt.Errorf("malformed message: %w", err)
	}
	if m.Version < 1 || m.Version > MessageVersion {
		return Message{}, fmt.Errorf("unsupported message version %d", m.Version)
	}
	return m, nil
}

// CleanAttachmentName makes an attachment's name safe to show and to write
// as a file name: no directories, no control or format characters, no
// leading dots, no trailing white space, at most 200 bytes of valid UTF-8.
// Cleaning a clean name leaves it as it is. Names inside a message come from
// the sender and must be treated as hostile by every reader. The staff
// console's safeName (frontend/js/safename.js) does exactly the same; both
// are tested against testdata/attachment-names.json.
func CleanAttachmentName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			b.WriteRune('_')
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.TrimRightFunc(b.String(), unicode.IsSpace)
	name = strings.TrimLeftFunc(name, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	if len(name) > 200 {
		for len(name) > 200 {
			_, size := utf8.DecodeLastRuneInString(name)
			name = name[:len(name)-size]
		}
		// The cut may end at a space; trim again, or cleaning a clean
		// name would change it.
		name = strings.TrimRightFunc(name, unicode.IsSpace)
	}
	if name == "" {
		name = "attachment"
	}
	return name
}
