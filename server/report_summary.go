package server

import (
	"fmt"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// sealSummary seals a new report's inbox summary (crypto.Summary): the
// channel's name, the first line of the text and the answers its
// questionnaire shows in the inbox, to the staff side only: the
// organisation's keys and the channel's newest, not the case's own key
// (the reporter never needs it). Reporters have JavaScript off, so the
// server, which seals the report itself, seals this too. Nothing of the
// confidential identity section is in it: that is not an answer.
//
// The channel's key comes first in the file: an age identity tries a
// file's stanzas in order, and a post-quantum one pays a full
// decapsulation (a few milliseconds in a browser) for each, so a
// caseworker opening a page of 50 summaries with the channel's key opens
// each at its first stanza instead of after every organisation key's.
func (s *Server) sealSummary(ch storage.Channel, text string, qn *frontend.Questionnaire, answers *crypto.Answers) ([]byte, error) {
	var shown []crypto.SummaryAnswer
	if qn != nil && answers != nil {
		for _, a := range answers.Items {
			if q := qn.Question(a.ID); q != nil && q.Summary && frontend.InSummary(q.Type) {
				shown = append(shown, crypto.SummaryAnswer{Label: a.Label, Value: a.Value})
			}
		}
	}
	key, err := channelKey(ch, s.recipients().Kind())
	if err != nil {
		return nil, err
	}
	sealed, err := crypto.SealSummary(crypto.NewSummary(ch.Text(storage.DefaultLanguage).Name, text, shown),
		append(key, s.recipients().Organisation()...))
	if err != nil {
		return nil, fmt.Errorf("failed to seal the case summary: %w", err)
	}
	return sealed, nil
}
