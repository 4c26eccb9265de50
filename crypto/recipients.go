package crypto

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

// Kind is the kind of age key an installation uses throughout. age refuses to
// mix post-quantum and classic recipients in one file, so the organisation's
// recipients and every case identity must be of the same kind.
type Kind int

const (
	// KindPostQuantum is the hybrid ML-KEM-768 + X25519 kind (age1pq1…). It is
	// the default: reports seized today may be attacked with a quantum
	// computer later.
	KindPostQuantum Kind = iota + 1
	// KindClassic is the X25519 kind (age1…).
	KindClassic
)

func (k Kind) String() string {
	switch k {
	case KindPostQuantum:
		return "post-quantum"
	case KindClassic:
		return "classic X25519"
	}
	return "unknown"
}

// ErrMixedRecipients is returned when a recipients file holds both
// post-quantum and classic keys.
var ErrMixedRecipients = errors.New("recipients file mixes post-quantum (age1pq1…) and classic (age1…) keys; " +
	"age cannot encrypt one file to both kinds, so use one kind for every key " +
	"(post-quantum is recommended)")

// Recipients is the organisation's set of age public keys, all of one Kind.
type Recipients struct {
	kind    Kind
	list    []age.Recipient
	strings []string
}

// ParseRecipients reads an age recipients file: one public key per line,
// blank lines and lines starting with "#" ignored, as `age -R` reads it.
// It accepts post-quantum (age1pq1…) or classic (age1…) keys, but not both.
func ParseRecipients(r io.Reader) (*Recipients, error) {
	list, err := age.ParseRecipients(r)
	if err != nil {
		return nil, fmt.Errorf("failed to parse recipients: %w", err)
	}
	rs := &Recipients{}
	for _, rec := range list {
		var k Kind
		var s string
		switch rec := rec.(type) {
		case *age.HybridRecipient:
			k, s = KindPostQuantum, rec.String()
		case *age.X25519Recipient:
			k, s = KindClassic, rec.String()
		default:
			return nil, fmt.Errorf("unsupported recipient type %T", rec)
		}
		if rs.kind != 0 && rs.kind != k {
			return nil, ErrMixedRecipients
		}
		rs.kind = k
		rs.list = append(rs.list, rec)
		rs.strings = append(rs.strings, s)
	}
	return rs, nil
}

// ParseRecipientsString is ParseRecipients over a string.
func ParseRecipientsString(s string) (*Recipients, error) {
	return ParseRecipients(strings.NewReader(s))
}

// Kind reports the kind of every key in the set.
func (rs *Recipients) Kind() Kind { return rs.kind }

// Len is the number of keys.
func (rs *Recipients) Len() int { return len(rs.list) }

// Strings returns the keys in their text form, in file order.
func (rs *Recipients) Strings() []string { return append([]string(nil), rs.strings...) }

// Organisation returns the keys alone, for items that only staff may read
// (internal notes).
func (rs *Recipients) Organisation() []age.Recipient { return append([]age.Recipient(nil), rs.list...) }

// ForCase returns the organisation's keys plus the case's own recipient, so
// that the reporter can read the item back with their case code. It refuses a
// case recipient of the other kind.
func (rs *Recipients) ForCase(caseRecipient string) ([]age.Recipient, error) {
	case1, err := ParseRecipientsString(caseRecipient)
	if err != nil {
		return nil, fmt.Errorf("malformed case recipient: %w", err)
	}
	if case1.Len() != 1 {
		return nil, errors.New("malformed case recipient: want exactly one key")
	}
	if case1.kind != rs.kind {
		return nil, fmt.Errorf("case key is %s but the organisation's keys are %s", case1.kind, rs.kind)
	}
	return append(rs.Organisation(), case1.list[0]), nil
}

// ForCaseIdentity is ForCase for a case whose identity is at hand (a new
// case, or a reporter's follow-up session). It parses nothing, which
// matters for post-quantum keys: parsing one costs about a third of
// encrypting to it.
func (rs *Recipients) ForCaseIdentity(id *CaseIdentity) ([]age.Recipient, error) {
	if id.kind != rs.kind {
		return nil, fmt.Errorf("case key is %s but the organisation's keys are %s", id.kind, rs.kind)
	}
	return append(rs.Organisation(), id.rec), nil
}
