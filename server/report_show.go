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
	// Carry is what the report's last page carried when the reporter went
	// back from it: the files to choose again, and the choice to keep them
	// as they are.
	Carry *keptReport
	// ErrorMore follows Error; ErrorLink is the id of the input Error is
	// about.
	ErrorMore, ErrorLink string

	// The steps of the questionnaire (report_step.go): its version, the
	// step this page asks, and whether it is a step before the last (the
	// last is the report form itself, with the text and the files).
	Questionnaire string
	Step          int
	StepPage      bool
	Progress      *stepProgress
	StepTitle     string
	CanGoBack     bool
	// AllOptional: no question of this page is required.
	AllOptional bool
	// Hidden are the answers of the other steps, and on a step before the
	// last, what the last page carried.
	Hidden []hiddenField
	// Identity is the optional identity section, if the channel offers it.
	Identity *identityView
}

// Kept is what the form shows again of a report sent before, if any.
func (f reportForm) Kept() *keptReport {
	if f.Repeat != nil {
		return f.Repeat
	}
	if f.Refused != nil {
		return f.Refused
	}
	return f.Carry
}

// channelChoice is the page that asks which channel a report is for.
type channelChoice struct {
	Channels []channelView
}

// handleReportForm answers GET /report: shows the report form for the
// channel named by ?channel=ID, or for the only channel that takes
// reports; with several and none named, first the choice of channel. A
// questionnaire of several steps starts at its first step.
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
	qn, err := s.questionnaireFor(c.UserContext(), ch.ID)
	if err != nil {
		return err
	}
	// The first step asked (with one step, or none, the report form).
	st := reportState{qn: qn, channel: &view, form: newFormToken()}
	return s.render(c, http.StatusOK, "report", "Make a report", s.reportPage(c, st, qn.Next(-1, nil), nil))
}
