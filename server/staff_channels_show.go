package server

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type channelRow struct {
	ID         int64
	Name       string
	Archived   bool
	Members    int
	Generation int
	// Questions is the newest version of its intake questions, 0 for the
	// built-in default.
	Questions int
}

type channelsPage struct {
	Channels  []channelRow
	Languages []channelTextField
}

// channelTextField is one language's name and description inputs.
type channelTextField struct {
	Code, Label       string
	Name, Description string
	Required          bool
}

func channelTextFields(texts map[string]storage.ChannelText) []channelTextField {
	out := make([]channelTextField, len(channelLanguages))
	for i, l := range channelLanguages {
		t := texts[l.Code]
		out[i] = channelTextField{Code: l.Code, Label: l.Label, Name: t.Name, Description: t.Description,
			Required: l.Code == storage.DefaultLanguage}
	}
	return out
}

// handleStaffChannels answers GET /staff/admin/channels: lists the
// channels (name, archived, team size, key generation, version of its
// intake questions) and a form to create one.
func (s *Server) handleStaffChannels(c *fiber.Ctx) error {
	all, err := s.db.Channels(c.UserContext())
	if err != nil {
		return err
	}
	rows := make([]channelRow, len(all))
	for i, ch := range all {
		rows[i] = channelRow{ID: ch.ID, Name: ch.Text(storage.DefaultLanguage).Name, Archived: ch.Archived,
			Members: len(ch.Members), Generation: ch.Generation}
		q, err := s.db.Questionnaire(c.UserContext(), ch.ID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		rows[i].Questions = q.Version
	}
	return s.renderStaff(c, http.StatusOK, "staff_channels", "Channels", channelsPage{
		Channels: rows, Languages: channelTextFields(nil),
	})
}
