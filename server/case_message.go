package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"filippo.io/age"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

var errEmptyMessage = &userError{status: http.StatusBadRequest, title: "Your message is empty",
	message: []phrase{say("Please write something, attach a file, or both. Nothing was saved.")}, back: "/case"}

// handleCaseMessage answers POST /case/message: adds a reporter's message to
// their case. The CSRF token is the first part of the streamed form and is
// checked before anything is stored.
func (s *Server) handleCaseMessage(c *fiber.Ctx) error {
	sess, ok := s.session(c)
	if !ok {
		return s.keepForLogin(c)
	}
	release, err := s.acquireUpload(c.UserContext())
	if err != nil {
		return err
	}
	defer release()
	// The case's recipient and the newest key of its channel, read
	// together for every message, so that the channel's team reads it
	// (and a member removed since does not).
	keys, err := s.db.SealingKeys(c.UserContext(), sess.caseID)
	if err != nil {
		return err
	}
	// The session holds the case's identity already parsed: parsing a
	// post-quantum recipient for every message cost a sixth of its time.
	var recipients []age.Recipient
	if sess.identity.Recipient() == keys.CaseRecipient {
		recipients, err = s.recipients().ForCaseIdentity(sess.identity)
	} else {
		recipients, err = s.recipients().ForCase(keys.CaseRecipient)
	}
	if err != nil {
		return err
	}
	key, err := parsedChannelKey(storage.Channel{ID: keys.ChannelID, Generation: keys.ChannelGeneration, Recipient: keys.ChannelRecipient},
		s.recipients().Kind())
	if err != nil {
		return err
	}
	recipients = append(recipients, key...)
	up, err := s.receive(c, recipients, sess.checkCSRF)
	// The body is in: the slot goes to the next upload while this one is
	// sealed and committed. Held through the commit, the slots all waited
	// on the same group commit together, and the processor idled.
	release()
	if errors.Is(err, errRepeat) {
		return errMessageRepeat
	}
	if err != nil {
		return err
	}
	return s.addReporterMessage(c, keys.CaseID, recipients, up)
}

// parsedChannelKeys holds the channel keys that messages were sealed to,
// parsed, by kind and text. Parsing a post-quantum key (1,959 characters
// of bech32 and an ML-KEM key check) for every message took a tenth of
// the server's time under a stream of messages. A key's text always
// parses to the same key, so an entry never goes stale: a new generation
// is a new text, read from the database for every message. The map is
// emptied when full, which bounds it whatever the number of channels.
var parsedChannelKeys = struct {
	sync.Mutex
	m map[string][]age.Recipient
}{m: map[string][]age.Recipient{}}

const maxParsedChannelKeys = 256

// parsedChannelKey is channelKey, remembered.
func parsedChannelKey(ch storage.Channel, kind crypto.Kind) ([]age.Recipient, error) {
	if ch.Generation == 0 {
		return nil, nil
	}
	k := fmt.Sprint(kind) + "\x00" + ch.Recipient
	parsedChannelKeys.Lock()
	key, ok := parsedChannelKeys.m[k]
	parsedChannelKeys.Unlock()
	if ok {
		return key, nil
	}
	key, err := channelKey(ch, kind)
	if err != nil {
		return nil, err
	}
	parsedChannelKeys.Lock()
	if len(parsedChannelKeys.m) >= maxParsedChannelKeys {
		clear(parsedChannelKeys.m)
	}
	parsedChannelKeys.m[k] = key
	parsedChannelKeys.Unlock()
	return key, nil
}

// addReporterMessage seals and stores a received message, then sends the
// reporter to their case.
func (s *Server) addReporterMessage(c *fiber.Ctx, caseID int64, recipients []age.Recipient, up *upload) error {
	if err := s.storeReporterMessage(c.UserContext(), caseID, recipients, up); err != nil {
		return err
	}
	// Committed durably: only now may the reporter be told it was sent.
	return c.Redirect("/case?sent=1", http.StatusSeeOther)
}

// storeReporterMessage seals and stores a received message, durably. An
// empty one is refused (errEmptyMessage), a repeat answered with
// errMessageRepeat; on any error its pending attachments are deleted.
func (s *Server) storeReporterMessage(ctx context.Context, caseID int64, recipients []age.Recipient, up *upload) error {
	if up.text == "" && len(up.files) == 0 {
		return errEmptyMessage
	}
	sealed, err := crypto.SealMessage(crypto.Message{Text: up.text, Attachments: up.files}, recipients)
	if err != nil {
		s.discard(ctx, up)
		return err
	}
	if _, err := s.db.AddMessage(ctx, caseID, storage.NewMessage{
		Author: storage.AuthorReporter, Ciphertext: sealed, AttachmentIDs: up.ids, AttachmentOwner: up.owner,
		FormHash: up.formHash,
	}); errors.Is(err, storage.ErrFormUsed) {
		s.discard(ctx, up)
		return errMessageRepeat // the same form, sent at the same time
	} else if err != nil {
		s.discard(ctx, up)
		return fmt.Errorf("failed to store message: %w", err)
	}
	return nil
}
