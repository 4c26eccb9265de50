package server

import (
	"net/http"
	"sort"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type channelMember struct {
	ID       int64
	Username string
	// HasKey: they registered their own age key, so keys can be wrapped
	// to them.
	HasKey bool
	// Generations they hold a wrap of; HasNewest if the newest is one.
	Generations []int
	HasNewest   bool
	// NeedsGrant: the channel has a key, they registered theirs, and
	// they lack the newest generation.
	NeedsGrant bool
}

type channelPage struct {
	Channel    storage.Channel
	Name       string
	Languages  []channelTextField
	Members    []channelMember
	Candidates []storage.Staff
	Kind       string
	// Excluded are those kept out of the channel for a conflict of
	// interest, with the reason.
	Excluded []storage.Recusal
	// Bounds of the channel's deadlines.
	MaxAckDays, MaxFeedbackMonths int
}

// handleStaffChannel answers GET /staff/admin/channels/:id: a channel's
// texts and archived flag to edit, its team (who registered a key, who
// holds which generations), and the controls the console's script uses
// to create the channel's key and grant it to members.
func (s *Server) handleStaffChannel(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	return s.renderChannelPage(c, ch)
}

// renderChannelPage renders a channel's page: everything for an
// administrator; for a member, the team and the controls to grant the
// channel's key (which only a member's browser can do).
func (s *Server) renderChannelPage(c *fiber.Ctx, ch storage.Channel) error {
	ctx := c.UserContext()
	staff, err := s.db.ListStaff(ctx)
	if err != nil {
		return err
	}
	excluded, err := s.db.ChannelExclusions(ctx, ch.ID)
	if err != nil {
		return err
	}
	isExcluded := map[int64]bool{}
	for _, e := range excluded {
		isExcluded[e.StaffID] = true
	}
	var members []channelMember
	var candidates []storage.Staff
	for _, st := range staff {
		if !ch.IsMember(st.ID) {
			if !st.Disabled && !isExcluded[st.ID] && st.Role != storage.RoleStatistics {
				candidates = append(candidates, st)
			}
			continue
		}
		wraps, err := s.db.ChannelKeyWraps(ctx, ch.ID, st.ID)
		if err != nil {
			return err
		}
		m := channelMember{ID: st.ID, Username: st.Username, HasKey: st.AgeRecipient != ""}
		for gen := range wraps {
			m.Generations = append(m.Generations, gen)
		}
		sort.Ints(m.Generations)
		_, m.HasNewest = wraps[ch.Generation]
		m.NeedsGrant = ch.Generation > 0 && m.HasKey && !m.HasNewest
		members = append(members, m)
	}
	return s.renderStaff(c, http.StatusOK, "staff_channel", "Channel "+ch.Text(storage.DefaultLanguage).Name, channelPage{
		Channel: ch, Name: ch.Text(storage.DefaultLanguage).Name, Languages: channelTextFields(ch.Texts),
		Members: members, Candidates: candidates, Kind: s.channelKind(), Excluded: excluded,
		MaxAckDays: storage.MaxAckDays, MaxFeedbackMonths: storage.MaxFeedbackMonths,
	})
}
