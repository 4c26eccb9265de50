package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// channelView is what a reporter reads of a channel, in their language.
type channelView struct {
	ID          int64
	Name        string
	Description string
}

func viewChannel(ch storage.Channel, lang string) channelView {
	t := ch.Text(lang)
	return channelView{ID: ch.ID, Name: t.Name, Description: t.Description}
}

// openChannels returns the channels that take reports (not archived), in
// the reporters' order.
func (s *Server) openChannels(ctx context.Context) ([]storage.Channel, error) {
	all, err := s.db.Channels(ctx)
	if err != nil {
		return nil, err
	}
	var open []storage.Channel
	for _, ch := range all {
		if !ch.Archived {
			open = append(open, ch)
		}
	}
	if len(open) == 0 {
		return nil, errNoChannels
	}
	return open, nil
}

// findChannel returns the open channel whose id is the text id, or nil.
func findChannel(open []storage.Channel, id string) *storage.Channel {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for i := range open {
		if open[i].ID == n {
			return &open[i]
		}
	}
	return nil
}

var (
	errNoChannels = &userError{status: http.StatusServiceUnavailable, title: "Reports cannot be made right now",
		message: []phrase{say("This service is not taking new reports at the moment."), say("Please try again later.")}}
	errChannelUnknown = &userError{status: http.StatusBadRequest, title: "Your report cannot be sent there",
		message: []phrase{say("The place you chose for your report does not exist or no longer takes reports."),
			say("Nothing was saved. Please go back and choose again.")}, back: "/report"}
	errChannelMissing = &userError{status: http.StatusBadRequest, title: "Please choose where your report should go",
		message: []phrase{say("Your report did not say where it should go."),
			say("Nothing was saved. Please go back and choose again.")}, back: "/report"}
	errChannelLate = &userError{status: http.StatusBadRequest, title: "The submission could not be read",
		message: []phrase{say("The form sent a file before saying where the report should go."),
			say("Nothing was saved. Please go back and try again.")}, back: "/report"}
)

// channelPick is the channel of a new report, chosen while its form
// streams in: the "channel" field must come before any file, since files
// are encrypted (to the channel's key too) as they arrive. With a single
// open channel, a form without the field goes to it.
type channelPick struct {
	open   []storage.Channel
	chosen *storage.Channel
	// base is the organisation's recipients and the case's own;
	// recipients is base with the chosen channel's newest key, once known.
	base       []age.Recipient
	recipients []age.Recipient
	kind       crypto.Kind
}

func (s *Server) newChannelPick(ctx context.Context, base []age.Recipient) (*channelPick, error) {
	open, err := s.openChannels(ctx)
	if err != nil {
		return nil, err
	}
	return &channelPick{open: open, base: base, kind: s.recipients().Kind()}, nil
}

// choose takes the form's "channel" field. A second one, or one that
// names another channel than the files already went to, is refused.
func (p *channelPick) choose(id string) error {
	ch := findChannel(p.open, id)
	if ch == nil {
		return errChannelUnknown
	}
	if p.chosen != nil {
		if p.chosen.ID != ch.ID {
			return errChannelUnknown
		}
		return nil
	}
	return p.set(ch)
}

// settle is called before the first file and at the end of the form: the
// channel must be known by then, or be the only one.
func (p *channelPick) settle() error {
	if p.chosen != nil {
		return nil
	}
	if len(p.open) != 1 {
		return errChannelMissing
	}
	return p.set(&p.open[0])
}

func (p *channelPick) set(ch *storage.Channel) error {
	key, err := channelKey(*ch, p.kind)
	if err != nil {
		return err
	}
	p.chosen, p.recipients = ch, append(append([]age.Recipient(nil), p.base...), key...)
	return nil
}

// channelKey returns the channel's newest public key, as recipients to add
// to a report's or message's (none while it has no key). The key must be
// of kind, the organisation's: age cannot encrypt one file to both kinds,
// and sending a report without the team's key would hide it from the team.
func channelKey(ch storage.Channel, kind crypto.Kind) ([]age.Recipient, error) {
	if ch.Generation == 0 {
		return nil, nil
	}
	key, err := crypto.ParseRecipientsString(ch.Recipient)
	if err != nil || key.Len() != 1 {
		return nil, fmt.Errorf("channel %d: malformed key of generation %d: %v", ch.ID, ch.Generation, err)
	}
	if key.Kind() != kind {
		return nil, fmt.Errorf("channel %d: key of generation %d is %s but the organisation's keys are %s",
			ch.ID, ch.Generation, key.Kind(), kind)
	}
	return key.Organisation(), nil
}

// view is the channel as the report form shows it: the chosen one, or the
// only one; nil if neither.
func (p *channelPick) view(lang string) *channelView {
	if p == nil {
		return nil
	}
	ch := p.chosen
	if ch == nil && len(p.open) == 1 {
		ch = &p.open[0]
	}
	if ch == nil {
		return nil
	}
	v := viewChannel(*ch, lang)
	return &v
}
