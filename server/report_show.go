package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

type reportForm struct {
	uploadLimits
	Error string
	Text  string
	// Form is the form's one-time token (see form_token.go).
	Form string
	// Repeat is set when the form answers a report sent again whose
	// receipt is no longer held: what it carried, to send as a new report.
	Repeat *keptReport
	// Channel is where the report goes (sent as the form's first field).
	Channel *channelView
	// Questions are the intake questions, with any answers to show again.
	Questions []questionView
	// Refused is set when the form answers a report refused for a wrong
	// answer: what it carried, to correct and send again.
	Refused *keptReport
	// Identity is the optional identity section, if the channel offers it.
	Identity *identityView
}

// Kept is what the form shows again of a report sent before, if any.
func (f reportForm) Kept() *keptReport {
	if f.Repeat != nil {
		return f.Repeat
	}
	return f.Refused
}

// channelChoice is the page that asks which channel a report is for.
type channelChoice struct {
	Channels []channelView
}

// handleReportForm answers GET /report: shows the report form for the
// channel named by ?channel=ID, or for the only channel that takes
// reports; with several and none named, first the choice of channel.
func (s *Server) handleReportForm(c *fiber.Ctx) error {
	open, err := s.openChannels(c.UserContext())
	if err != nil {
		return err
	}
	lang := languageOf(c).Tag
	ch := findChannel(open, c.Query("channel"))
	if ch == nil && len(open) == 1 {
		ch = &open[0]
	}
	if ch == nil {
		var choice channelChoice
		for _, o := range open {
			choice.Channels = append(choice.Channels, viewChannel(o, lang))
		}
		return s.render(c, http.StatusOK, "report_channel", "Make a report", choice)
	}
	view := viewChannel(*ch, lang)
	return s.render(c, http.StatusOK, "report", "Make a report",
		reportForm{uploadLimits: s.limits(), Form: newFormToken(), Channel: &view, Questions: s.questionViews(c, nil, nil),
			Identity: s.identityForm(c.UserContext(), &view, nil)})
}
