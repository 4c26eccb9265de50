package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// Confidential identity (docs/confidential-identity.md). A channel may
// offer reporters an optional "you may tell us who you are" section: name,
// contact details, role, in fields id_name, id_contact and id_role that come
// before the text and the files. What they write is sealed into one age
// file encrypted only to the own keys of the channel's custodians (staff
// with the custodian flag, not excluded from the channel, whose key is of
// the organisation's kind): not to the organisation's recovery keys, not to
// the channel's key, not to the case's key. It is never logged.

// Limits on the identity fields, in characters.
const (
	maxIdentityName    = 200
	maxIdentityContact = 500
	maxIdentityRole    = 200
)

// identityFieldLimits are the identity fields and their limits.
var identityFieldLimits = map[string]int{"id_name": maxIdentityName, "id_contact": maxIdentityContact, "id_role": maxIdentityRole}

// isIdentityField reports whether a form field is one of the identity
// section's.
func isIdentityField(name string) bool {
	_, ok := identityFieldLimits[name]
	return ok
}

// identityFields are the identity section's values as the form streams in.
type identityFields struct {
	Name, Contact, Role string
	seen                map[string]bool
}

var errIdentityLate = &userError{status: http.StatusBadRequest, title: "The submission could not be read",
	message: []phrase{say("The form sent your identity details after a file."),
		say("Nothing was saved. Please go back and try again.")}, back: "/report"}

var errIdentityNotOffered = &userError{status: http.StatusBadRequest, title: "Your identity details cannot be sent here",
	message: []phrase{say("The place you chose for your report does not take identity details."),
		say("Nothing was saved. Please go back and send your report without them.")}, back: "/report"}

var errIdentityTooLong = &userError{status: http.StatusBadRequest, title: "Your identity details are too long",
	message: []phrase{say("Your name and role may have up to %d characters each, and your contact details up to %d.", maxIdentityName, maxIdentityContact),
		say("Nothing was saved. Please go back and shorten them.")}, back: "/report"}

// read reads one identity field. afterFiles: a file came before it, which
// the form never does (files are stored as they stream in, before the
// channel could refuse the identity).
func (f *identityFields) read(part *multipart.Part, afterFiles bool) error {
	name := part.FormName()
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[name] || part.FileName() != "" {
		return badUpload(say("The form could not be read."))
	}
	if afterFiles {
		return errIdentityLate
	}
	f.seen[name] = true
	limit := identityFieldLimits[name]
	b, err := io.ReadAll(io.LimitReader(part, int64(utf8.UTFMax*limit)+1))
	if err != nil {
		return badUpload(say("The form data was incomplete or malformed."))
	}
	v := frontend.Normalize(string(b))
	if len(b) > utf8.UTFMax*limit || utf8.RuneCountInString(v) > limit {
		return errIdentityTooLong
	}
	if !plainText(v) {
		return badUpload(say("The form could not be read."))
	}
	switch name {
	case "id_name":
		f.Name = v
	case "id_contact":
		f.Contact = v
	case "id_role":
		f.Role = v
	}
	return nil
}

// empty reports whether nothing was written in the section.
func (f *identityFields) empty() bool { return f.Name == "" && f.Contact == "" && f.Role == "" }

// identityPlain is the plaintext inside the identity age file.
type identityPlain struct {
	V       int    `json:"v"`
	Name    string `json:"name,omitempty"`
	Contact string `json:"contact,omitempty"`
	Role    string `json:"role,omitempty"`
}

// identityView is the identity section of the report form: shown only when
// the channel offers it (nil otherwise), with what the reporter wrote.
type identityView struct {
	Name, Contact, Role          string
	MaxName, MaxContact, MaxRole int
}

// identityRecipients returns the custodians' keys a channel's identity
// details are encrypted to: none if the channel does not offer the section
// or no custodian can receive it (then the form does not show it).
func (s *Server) identityRecipients(ctx context.Context, ch storage.Channel) ([]age.Recipient, error) {
	if !ch.OfferIdentity {
		return nil, nil
	}
	custodians, err := s.db.IdentityCustodians(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	kind := s.recipients().Kind()
	var out []age.Recipient
	for _, st := range custodians {
		r, err := crypto.ParseRecipientsString(st.AgeRecipient)
		if err != nil || r.Len() != 1 || r.Kind() != kind {
			// age cannot mix the two kinds in one file: a custodian
			// whose key is of the other kind is told so on their page.
			continue
		}
		out = append(out, r.Organisation()...)
	}
	return out, nil
}

// identityForm is the identity section for a channel's report form, with
// kept values; nil when the channel does not offer it.
func (s *Server) identityForm(ctx context.Context, ch *channelView, kept *identityFields) *identityView {
	if ch == nil {
		return nil
	}
	full, err := s.db.Channel(ctx, ch.ID)
	if err != nil {
		s.log.Error("failed to read a channel for the identity section", "err", err)
		return nil
	}
	rs, err := s.identityRecipients(ctx, full)
	if err != nil {
		s.log.Error("failed to list the custodians for the identity section", "err", err)
		return nil
	}
	if len(rs) == 0 {
		return nil
	}
	v := &identityView{MaxName: maxIdentityName, MaxContact: maxIdentityContact, MaxRole: maxIdentityRole}
	if kept != nil {
		v.Name, v.Contact, v.Role = kept.Name, kept.Contact, kept.Role
	}
	return v
}

// sealIdentity encrypts a report's identity details to the custodians of
// its channel; nil if the reporter wrote none. A channel that does not
// offer the section refuses them (nothing is stored).
func (s *Server) sealIdentity(ctx context.Context, ch storage.Channel, f *identityFields) ([]byte, error) {
	if f == nil || f.empty() {
		return nil, nil
	}
	rs, err := s.identityRecipients(ctx, ch)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errIdentityNotOffered
	}
	plain, err := json.Marshal(identityPlain{V: 1, Name: f.Name, Contact: f.Contact, Role: f.Role})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return nil, fmt.Errorf("failed to encrypt identity details: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
