package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
)

// The intake questions of a channel's questionnaire (questionnaire.go) are
// answered on the report form, in fields named "q_<id>" ("q_when_from",
// "q_when_to" for a date range; "q_<id>" once per ticked choice of a
// multiple choice; the files of a file question as "q_<id>") that come
// before the text and the files. A questionnaire of several steps is asked
// a page at a time (report_step.go): the answers of the other steps travel
// in the reporter's own form as hidden fields, never stored, and the last
// page is the report form with the text and the files. The answers go
// into the report's first message, encrypted with it; they are never
// logged. A wrong answer refuses the whole report, nothing stored, and
// the page of its step is shown again with everything the reporter
// entered (see answersRefused).

// questionView is one question on the report form in the reporter's
// language, with what the reporter entered and, if that answer was wrong,
// why.
type questionView struct {
	ID, Type        string
	Label, Help     string
	Required        bool
	Choices         []choiceView
	Value, From, To string
	MaxChars        int
	// DateInput is the input type of a date or a date range's ends:
	// "date" or "month".
	DateInput string
	// FormatHint says how to write a date where the browser has no date
	// picker.
	FormatHint  string
	Error       string
	DescribedBy string // ids of the hint and the error, for aria-describedby
	Anchor      string // id of the question's first input
}

// choiceView is one choice of a question, its value and its text in the
// reporter's language.
type choiceView struct {
	Value, Label string
	Checked      bool
}

// hiddenField is a value the form carries on unchanged.
type hiddenField struct{ Name, Value string }

// answerFields are the raw answers of a report form, by field name, as
// the form streams in.
type answerFields struct {
	raw frontend.Answers
	// overlong is a question whose answer was longer than any it could
	// take: what was read of it is kept, to show again.
	overlong *frontend.Question
}

// read reads one answer field of question q. A single-valued field sent
// twice cannot come from the form: the submission is refused as
// unreadable.
func (a *answerFields) read(part *multipart.Part, q *frontend.Question) error {
	name := part.FormName()
	if a.raw == nil {
		a.raw = frontend.Answers{}
	}
	_, dup := a.raw[name]
	if part.FileName() != "" || (dup && q.Type != frontend.MultiChoice) || len(a.raw[name]) >= max(1, len(q.Choices)) {
		return badUpload(say("The form could not be read."))
	}
	limit := q.MaxFieldBytes()
	b, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
	if err != nil {
		return badUpload(say("The form data was incomplete or malformed."))
	}
	v, over := cutAnswer(string(b), limit)
	if over && a.overlong == nil {
		a.overlong = q
	}
	a.raw[name] = append(a.raw[name], v)
	return nil
}

// cutAnswer normalises a raw answer, cutting one over limit bytes to the
// limit (and reporting it) so that what was typed can be shown again.
func cutAnswer(v string, limit int) (string, bool) {
	over := len(v) > limit
	if over {
		// Drop a character cut in two, so the kept text is valid.
		v = strings.ToValidUTF8(v[:limit], "")
	}
	return frontend.Normalize(v), over
}

// check validates the answers, with the names of the files sent for each
// file question: the items to store, or what is wrong.
func (a *answerFields) check(qn *frontend.Questionnaire, files map[string][]string) (*crypto.Answers, *frontend.AnswerProblem) {
	if a.overlong != nil && qn.Shown(qn.StepOf(a.overlong.ID), a.raw) {
		// (An answer to a step not asked is dropped, however long.)
		return nil, &frontend.AnswerProblem{Question: a.overlong, Kind: frontend.TooLong, Limit: a.overlong.MaxChars()}
	}
	items, problem := qn.Check(a.raw, files)
	if problem != nil {
		return nil, problem
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := &crypto.Answers{Questionnaire: qn.ID, Version: qn.Version}
	for _, it := range items {
		out.Items = append(out.Items, crypto.Answer{ID: it.ID, Type: it.Type, Label: it.Label, Value: it.Value,
			Values: it.Values, From: it.From, To: it.To})
	}
	return out, nil
}

// answersRefused is a report refused for a wrong answer: nothing of it is
// stored, and the page of the step with that answer is shown again with
// everything the report carried.
type answersRefused struct {
	problem *frontend.AnswerProblem
	qn      *frontend.Questionnaire
	raw     frontend.Answers
	text    string
	files   []string // cleaned names, to choose again
	keep    bool
	person  *identityFields
}

func (*answersRefused) Error() string { return "report refused: an answer is wrong" }

// problemPhrase says what is wrong with an answer, naming its question as
// the reporter reads it.
func (s *Server) problemPhrase(c *fiber.Ctx, p *frontend.AnswerProblem) phrase {
	label := isolate(p.Question.Label.In(languageOf(c).Tag))
	switch p.Kind {
	case frontend.TooLong:
		return say("The answer to \"%s\" is too long: it may have up to %d characters.", label, p.Limit)
	case frontend.BadCharacters:
		return say("The answer to \"%s\" has characters that cannot be used.", label)
	case frontend.NotAChoice:
		return say("The answer to \"%s\" is not one of its choices.", label)
	case frontend.Missing:
		if p.Question.Type == frontend.File {
			return say("Please choose a file for \"%s\": it is required.", label)
		}
		return say("Please answer \"%s\": it is required.", label)
	case frontend.BadDate:
		return say("The answer to \"%s\" must be a date, such as 2024-03-15.", label)
	case frontend.BadMonth:
		return say("The answer to \"%s\" must be a year and month, such as 2024-03.", label)
	case frontend.MonthsReversed:
		return say("The answer to \"%s\" has its first month after its second.", label)
	}
	return say("The answer to \"%s\" could not be read.", label)
}

// questionViews are the questions of one step of qn, filled in with raw
// answers; the one problem, if any, is said next to its question.
func (s *Server) questionViews(c *fiber.Ctx, qn *frontend.Questionnaire, step int, raw frontend.Answers, problem *frontend.AnswerProblem) []questionView {
	if step < 0 || step >= len(qn.Steps) {
		return nil
	}
	lang := languageOf(c).Tag
	qs := qn.Steps[step].Questions
	views := make([]questionView, 0, len(qs))
	for i := range qs {
		q := &qs[i]
		v := questionView{ID: q.ID, Type: q.Type, Label: q.Label.In(lang), Help: q.Help.In(lang), Required: q.Required,
			MaxChars: q.MaxChars(), Anchor: "q_" + q.ID}
		names := q.FieldNames()
		v.Value = raw.Get(names[0])
		switch q.Type {
		case frontend.Choice, frontend.MultiChoice:
			for _, ch := range q.Choices {
				v.Choices = append(v.Choices, choiceView{Value: ch.Value, Label: ch.Label.In(lang), Checked: raw.Has(names[0], ch.Value)})
			}
		case frontend.YesNo:
			v.Choices = []choiceView{
				{Value: frontend.YesValue, Label: s.translate(c, say(frontend.YesKey)), Checked: v.Value == frontend.YesValue},
				{Value: frontend.NoValue, Label: s.translate(c, say(frontend.NoKey)), Checked: v.Value == frontend.NoValue}}
		case frontend.Date:
			v.DateInput = "date"
		case frontend.DateRange, frontend.MonthRange:
			v.From, v.To = raw.Get(names[0]), raw.Get(names[1])
			v.DateInput, v.Anchor = "month", names[0]
			if q.DayPrecision() {
				v.DateInput = "date"
			}
		}
		switch {
		case (q.Type == frontend.Choice || q.Type == frontend.YesNo) && !q.Required:
			v.Anchor = "q_" + q.ID + "-none"
		case q.Type == frontend.Choice || q.Type == frontend.YesNo || q.Type == frontend.MultiChoice:
			v.Anchor = "q_" + q.ID + "-0"
		}
		// The built-in questionnaire says how to write its month in its
		// help; others are told here.
		if v.DateInput != "" && qn.ID != frontend.DefaultQuestionnaireID {
			if v.DateInput == "month" {
				v.FormatHint = s.translate(c, say("If there is no month picker, write the year and month, such as 2024-03."))
			} else {
				v.FormatHint = s.translate(c, say("If there is no date picker, write the date as year-month-day, such as 2024-03-15."))
			}
		}
		var describe []string
		if v.Help != "" || v.FormatHint != "" {
			describe = append(describe, "q_"+q.ID+"-hint")
		}
		if problem != nil && problem.Question.ID == q.ID {
			v.Error = s.translate(c, s.problemPhrase(c, problem))
			describe = append(describe, "q_"+q.ID+"-error")
		}
		v.DescribedBy = strings.Join(describe, " ")
		views = append(views, v)
	}
	return views
}

// reportState is everything a report form carries from page to page: the
// questionnaire version it asks, the answers so far, and (once the
// reporter reached the last page and came back, or a report was refused)
// the text, the names of the files to choose again and the choice to keep
// files as they are.
type reportState struct {
	qn      *frontend.Questionnaire
	channel *channelView
	form    string // the one-time token
	raw     frontend.Answers
	text    string
	files   []string
	keep    bool
	// person is what the optional identity section (on the last page)
	// carried.
	person *identityFields
}

// stepProgress is "step 2 of 3", counting the steps asked.
type stepProgress struct{ Number, Count int }

// reportPage builds the page of step (the report form itself for the last
// step), with what st carries and the problem, if any, said at the top
// and next to its question.
func (s *Server) reportPage(c *fiber.Ctx, st reportState, step int, problem *frontend.AnswerProblem) reportForm {
	qn := st.qn
	final := step >= qn.Last()
	if final {
		step = qn.Last()
	}
	lang := languageOf(c).Tag
	form := reportForm{uploadLimits: s.limits(), Text: st.text, Form: st.form, Channel: st.channel,
		Questionnaire: qn.Ref(), Step: step, StepPage: !final,
		Questions: s.questionViews(c, qn, step, st.raw, problem), AllOptional: true,
		CanGoBack: step > 0 && qn.Previous(step, st.raw) >= 0}
	if len(st.files) > 0 || st.keep {
		form.Carry = &keptReport{Text: st.text, Files: st.files, Keep: st.keep}
	}
	for _, q := range form.Questions {
		form.AllOptional = form.AllOptional && !q.Required
	}
	if step >= 0 {
		form.StepTitle = qn.Steps[step].Title.In(lang)
	}
	if len(qn.Steps) > 1 {
		// The steps asked, and those that may yet be: they depend on an
		// answer not given yet, of this step or a later one.
		p := &stepProgress{}
		for j := range qn.Steps {
			w := qn.Steps[j].When
			if qn.Shown(j, st.raw) || (w != nil && qn.StepOf(w.Question) >= step && len(st.raw["q_"+w.Question]) == 0) {
				p.Count++
				if j <= step {
					p.Number++
				}
			}
		}
		form.Progress = p
	}
	// The answers of the other steps asked, in order; those of steps no
	// longer asked (an answer they depend on changed) are dropped.
	for j := range qn.Steps {
		if j == step || !qn.Shown(j, st.raw) {
			continue
		}
		for _, q := range qn.Steps[j].Questions {
			if q.Type == frontend.File {
				continue
			}
			for _, name := range q.FieldNames() {
				for _, v := range st.raw[name] {
					if v != "" {
						form.Hidden = append(form.Hidden, hiddenField{name, v})
					}
				}
			}
		}
	}
	if final {
		form.Identity = s.identityForm(c.UserContext(), st.channel, st.person)
	} else if st.person != nil {
		// The identity section's values ride along, as the text does.
		for _, f := range [][2]string{{"id_name", st.person.Name}, {"id_contact", st.person.Contact}, {"id_role", st.person.Role}} {
			if f[1] != "" {
				form.Hidden = append(form.Hidden, hiddenField{f[0], f[1]})
			}
		}
	}
	if !final {
		// The last page's text and choices ride along too.
		if st.text != "" {
			form.Hidden = append(form.Hidden, hiddenField{"body", st.text})
		}
		if st.keep {
			form.Hidden = append(form.Hidden, hiddenField{"keep_originals", "yes"})
		}
		for _, f := range st.files {
			form.Hidden = append(form.Hidden, hiddenField{"kept_file", f})
		}
	}
	if problem != nil {
		form.Error = s.translate(c, s.problemPhrase(c, problem))
		for _, q := range form.Questions {
			if q.ID == problem.Question.ID {
				form.ErrorLink = q.Anchor
			}
		}
	}
	return form
}

// renderAnswersRefused shows the page of the step with the wrong answer
// again, for the same channel and questionnaire version, with everything
// the refused report carried and what was wrong.
func (s *Server) renderAnswersRefused(c *fiber.Ctx, r *answersRefused, pick *channelPick) error {
	s.refused(refusedMalformed)
	st := reportState{qn: r.qn, channel: pick.view(languageOf(c).Tag), form: newFormToken(), raw: r.raw,
		text: r.text, files: r.files, keep: r.keep, person: r.person}
	form := s.reportPage(c, st, r.qn.StepOf(r.problem.Question.ID), r.problem)
	form.ErrorMore = s.translate(c, say("Nothing was saved. Your answers and text are below: please correct that answer and send again."))
	form.Refused = form.Carry
	if form.Refused == nil {
		form.Refused = &keptReport{Text: r.text}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, http.StatusBadRequest, "report", "Make a report", form)
}

// translateAnswers puts the reporter's answers on their case page in their
// language, where the question is still asked as it was: the version the
// answers name, of the case's channel, with the same wording; otherwise
// they stay as stored, in English.
func (s *Server) translateAnswers(c *fiber.Ctx, channel int64, msgs []caseMessage) {
	lang := languageOf(c).Tag
	ctx := c.UserContext()
	for i := range msgs {
		if len(msgs[i].Answers) == 0 {
			continue
		}
		qn, err := s.questionnaireByRef(ctx, channel, msgs[i].AnswersRef)
		if err != nil {
			var ue *userError
			if !errors.As(err, &ue) {
				s.log.Warn("a case's questionnaire could not be read", "err", err)
			}
			continue
		}
		for j := range msgs[i].Answers {
			s.translateAnswer(c, qn, lang, &msgs[i].Answers[j])
		}
	}
}

func (s *Server) translateAnswer(c *fiber.Ctx, qn *frontend.Questionnaire, lang string, a *crypto.Answer) {
	q := qn.Question(a.ID)
	if q == nil || q.Label[frontend.DefaultLanguage] != a.Label || (a.Type != "" && a.Type != q.Type) {
		return
	}
	a.Label = q.Label.In(lang)
	choice := func(v string) string {
		for _, ch := range q.Choices {
			if ch.Value == v {
				return ch.Label.In(lang)
			}
		}
		return v
	}
	switch q.Type {
	case frontend.Choice:
		a.Value = choice(a.Value)
	case frontend.MultiChoice:
		if len(a.Values) > 0 {
			out := make([]string, len(a.Values))
			for k, v := range a.Values {
				out[k] = choice(v)
			}
			a.Value = strings.Join(out, "; ")
		}
	case frontend.YesNo:
		switch a.Value {
		case frontend.YesValue:
			a.Value = s.translate(c, say(frontend.YesKey))
		case frontend.NoValue:
			a.Value = s.translate(c, say(frontend.NoKey))
		}
	case frontend.DateRange, frontend.MonthRange:
		switch {
		case a.From != "" && a.To != "":
			a.Value = s.translate(c, say("%s to %s", a.From, a.To))
		case a.From != "":
			a.Value = s.translate(c, say("from %s", a.From))
		case a.To != "":
			a.Value = s.translate(c, say("until %s", a.To))
		}
	}
}

// answersRef names the questionnaire version a message's answers were
// given to, as questionnaireByRef reads it.
func answersRef(a *crypto.Answers) string {
	return fmt.Sprintf("%s@%d", a.Questionnaire, a.Version)
}

// questionnaireOfForm returns the questionnaire a form names, for the
// channel it is for (the channel's newest if it names none: a form opened
// before forms named theirs, or a script).
func (s *Server) questionnaireOfForm(ctx context.Context, channel int64, ref string) (*frontend.Questionnaire, error) {
	if ref == "" {
		return s.questionnaireFor(ctx, channel)
	}
	return s.questionnaireByRef(ctx, channel, ref)
}
