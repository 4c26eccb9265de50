package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// channelLanguages are the reporter languages a channel's texts are
// written in, each labelled in itself; English (storage.DefaultLanguage)
// is required, the others fall back to it.
var channelLanguages = func() []struct{ Code, Label string } {
	var out []struct{ Code, Label string }
	for _, l := range frontend.Languages {
		out = append(out, struct{ Code, Label string }{l.Tag, l.Name})
	}
	return out
}()

// Limits on what an administrator or the console's script sends about a
// channel.
const (
	maxChannelName        = 100      // characters
	maxChannelDescription = 1000     // characters
	maxKeyWrap            = 64 << 10 // bytes of one wrapped channel identity (an age file)
	maxWrapsField         = 8 << 20  // bytes of the wraps JSON
	maxRecipientField     = 4096     // bytes: a post-quantum recipient is ~1,960
	maxWraps              = 1000     // wraps in one request: members of a team, or generations of a key
)

// channelTextsFrom reads a channel's name and description per language
// from an administrator's form: name_LANG, description_LANG.
func channelTextsFrom(form url.Values) (map[string]storage.ChannelText, error) {
	texts := map[string]storage.ChannelText{}
	for _, l := range channelLanguages {
		name := strings.TrimSpace(form.Get("name_" + l.Code))
		desc := strings.TrimSpace(form.Get("description_" + l.Code))
		if !plainText(name) || !plainText(desc) {
			return nil, staffBadRequest("The %s text holds characters that are not allowed.", l.Label)
		}
		if utf8.RuneCountInString(name) > maxChannelName {
			return nil, staffBadRequest("The %s name is longer than %d characters.", l.Label, maxChannelName)
		}
		if utf8.RuneCountInString(desc) > maxChannelDescription {
			return nil, staffBadRequest("The %s description is longer than %d characters.", l.Label, maxChannelDescription)
		}
		if name == "" {
			if desc != "" {
				return nil, staffBadRequest("The %s description has no name with it.", l.Label)
			}
			continue
		}
		texts[l.Code] = storage.ChannelText{Name: name, Description: desc}
	}
	if _, ok := texts[storage.DefaultLanguage]; !ok {
		return nil, staffBadRequest("A channel needs an English name.")
	}
	return texts, nil
}

// plainText reports whether s is valid UTF-8 with no control characters
// other than line breaks and tabs.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// channelOf resolves the :id of a channel route; an unknown or malformed
// id is a 404.
func (s *Server) channelOf(c *fiber.Ctx) (storage.Channel, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return storage.Channel{}, errNotFound
	}
	ch, err := s.db.Channel(c.UserContext(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Channel{}, errNotFound
	}
	return ch, err
}

// channelTarget names a channel in the audit trail.
func channelTarget(ch storage.Channel) string {
	return fmt.Sprintf("channel %d (%s)", ch.ID, ch.Text(storage.DefaultLanguage).Name)
}

// channelKind is the kind of key a channel's identity must be, as the
// console's script names it: "pq" if the organisation's recipients are
// post-quantum hybrid, else "x25519" (age cannot mix the two in a file).
func (s *Server) channelKind() string {
	if s.recipients().Kind() == crypto.KindPostQuantum {
		return "pq"
	}
	return "x25519"
}

// parseWrap decodes one wrapped channel identity: base64 of an age file of
// at most maxKeyWrap bytes.
func parseWrap(b64 string) ([]byte, error) {
	if base64.StdEncoding.DecodedLen(len(b64)) > maxKeyWrap+3 {
		return nil, errors.New("too large")
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) > maxKeyWrap || !bytes.HasPrefix(b, []byte(ageMagic)) {
		return nil, errors.New("not an age file")
	}
	return b, nil
}

// parseWraps decodes a wraps field: a JSON object of id → base64 age file.
func parseWraps(field string) (map[int64][]byte, error) {
	var raw map[string]string
	if err := json.Unmarshal([]byte(field), &raw); err != nil {
		return nil, staffBadRequest("The wrapped keys are not a JSON object of base64 age files.")
	}
	if len(raw) > maxWraps {
		return nil, staffBadRequest("There are more than %d wrapped keys.", maxWraps)
	}
	out := make(map[int64][]byte, len(raw))
	for k, v := range raw {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil || id <= 0 {
			return nil, staffBadRequest("The wrapped keys name something that is not an id.")
		}
		w, err := parseWrap(v)
		if err != nil {
			return nil, staffBadRequest("A wrapped key is not an age file of acceptable size.")
		}
		out[id] = w
	}
	return out, nil
}

var errStaleChannelKey = &staffError{status: http.StatusConflict, title: "The channel's key changed meanwhile",
	message: "Someone made a new key for this channel while you were working. Reload the page and try again. Nothing was changed."}

// maxChannelForm bounds a channel's texts form: six languages of name and
// description, percent-encoded (a Bengali character takes nine bytes).
const maxChannelForm = 64 << 10

// staffChannelForm is staffForm for a channel's texts, which may be
// larger than other staff forms.
func (s *Server) staffChannelForm(c *fiber.Ctx) (url.Values, error) {
	form, err := readForm(c, maxChannelForm)
	if err != nil {
		return nil, err
	}
	u := staffOf(c)
	if u == nil || !constantTimeEqual(form.Get("csrf"), u.session.CSRF) {
		return nil, errCSRFStaff
	}
	return form, nil
}

// channelStaffForm reads an administrator's small form about one staff
// member and a channel (the :id of the route): the channel, the form
// (CSRF checked) and the enabled staff member it names in "staff".
func (s *Server) channelStaffForm(c *fiber.Ctx) (storage.Channel, url.Values, storage.Staff, error) {
	ch, err := s.channelOf(c)
	if err != nil {
		return ch, nil, storage.Staff{}, err
	}
	form, err := s.staffForm(c)
	if err != nil {
		return ch, nil, storage.Staff{}, err
	}
	id, err := strconv.ParseInt(form.Get("staff"), 10, 64)
	if err != nil {
		return ch, nil, storage.Staff{}, errNotFound
	}
	st, err := s.db.StaffByID(c.UserContext(), id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && st.Disabled) {
		return ch, nil, storage.Staff{}, errNotFound
	}
	return ch, form, st, err
}

// channelKeyForm reads the small multipart form of a key request from the
// console's script: each field named in limits (at most that many bytes,
// at most once), and no other.
func (s *Server) channelKeyForm(c *fiber.Ctx, limits map[string]int) (map[string]string, error) {
	mr, _, err := s.staffMultipart(c)
	if err != nil {
		return nil, err
	}
	form := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return nil, staffBadRequest("The form data was incomplete or malformed.")
		}
		name := part.FormName()
		limit, ok := limits[name]
		if _, seen := form[name]; !ok || seen {
			return nil, staffBadRequest("The form had an unexpected field.")
		}
		if form[name], err = readField(part, limit); err != nil {
			return nil, staffBadRequest("A field of the form was too long or could not be read.")
		}
	}
}
