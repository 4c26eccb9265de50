package server

import (
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
)

// The intake questions (frontend.PoliceConduct) are answered on the report
// form, in fields named "q_<id>" ("q_when_from", "q_when_to" for a month
// range) that come before the text and the files. Their answers go into
// the report's first message, encrypted with it; they are never logged.
// A wrong answer refuses the whole report, nothing stored, and the form is
// shown again with everything the reporter entered (see answersRefused).

// questionnaire is the questionnaire of every new report, for now.
func questionnaire() *frontend.Questionnaire { return frontend.PoliceConduct }

// questionView is one question on the report form, with what the reporter
// entered and, if that answer was wrong, why (in their language).
type questionView struct {
	frontend.Question
	Value, From, To string
	MaxChars        int
	Error           string
}

// answerFields are the raw answers of a report form, by field name, as
// the form streams in.
type answerFields struct {
	raw map[string]string
	// overlong is a question whose answer was longer than any it could
	// take: what was read of it is kept, to show again.
	overlong *frontend.Question
}

// questionOfField returns the question a form field answers, or nil.
func questionOfField(name string) *frontend.Question {
	qn := questionnaire()
	for i := range qn.Questions {
		for _, f := range qn.Questions[i].FieldNames() {
			if f == name {
				return &qn.Questions[i]
			}
		}
	}
	return nil
}

// read reads one answer field of question q. A field sent twice cannot
// come from the form: the submission is refused as unreadable.
func (a *answerFields) read(part *multipart.Part, q *frontend.Question) error {
	name := part.FormName()
	if a.raw == nil {
		a.raw = map[string]string{}
	}
	if _, dup := a.raw[name]; dup || part.FileName() != "" {
		return badUpload(say("The form could not be read."))
	}
	limit := q.MaxFieldBytes()
	b, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
	if err != nil {
		return badUpload(say("The form data was incomplete or malformed."))
	}
	if len(b) > limit {
		b = b[:limit]
		if a.overlong == nil {
			a.overlong = q
		}
		// Drop a character cut in two, so the kept text is valid.
		b = []byte(strings.ToValidUTF8(string(b), ""))
	}
	a.raw[name] = frontend.Normalize(string(b))
	return nil
}

// check validates the answers: the items to store, or what is wrong.
func (a *answerFields) check() (*crypto.Answers, *frontend.AnswerProblem) {
	qn := questionnaire()
	if a.overlong != nil {
		limit := frontend.MaxShortText
		if a.overlong.Type == frontend.LongText {
			limit = frontend.MaxLongText
		}
		return nil, &frontend.AnswerProblem{Question: a.overlong, Kind: frontend.TooLong, Limit: limit}
	}
	items, problem := qn.Check(a.raw)
	if problem != nil {
		return nil, problem
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := &crypto.Answers{Questionnaire: qn.ID, Version: qn.Version}
	for _, it := range items {
		out.Items = append(out.Items, crypto.Answer{ID: it.ID, Label: it.Label, Value: it.Value})
	}
	return out, nil
}

// answersRefused is a report refused for a wrong answer: nothing of it is
// stored, and the form is shown again with what it carried.
type answersRefused struct {
	problem *frontend.AnswerProblem
	raw     map[string]string
	text    string
	files   []string // cleaned names, to choose again
	keep    bool
	person  *identityFields
}

func (*answersRefused) Error() string { return "report refused: an answer is wrong" }

// problemPhrase says what is wrong with an answer, naming its question as
// the reporter reads it.
func (s *Server) problemPhrase(c *fiber.Ctx, p *frontend.AnswerProblem) phrase {
	label := isolate(s.translate(c, say(p.Question.LabelKey())))
	switch p.Kind {
	case frontend.TooLong:
		return say("The answer to \"%s\" is too long: it may have up to %d characters.", label, p.Limit)
	case frontend.BadCharacters:
		return say("The answer to \"%s\" has characters that cannot be used.", label)
	case frontend.NotAChoice:
		return say("The answer to \"%s\" is not one of its choices.", label)
	case frontend.BadMonth:
		return say("The answer to \"%s\" must be a year and month, such as 2024-03.", label)
	case frontend.MonthsReversed:
		return say("The answer to \"%s\" has its first month after its second.", label)
	}
	return say("The answer to \"%s\" could not be read.", label)
}

// questionViews are the questions of the report form, filled in with raw
// answers; the one problem, if any, is said next to its question.
func (s *Server) questionViews(c *fiber.Ctx, raw map[string]string, problem *frontend.AnswerProblem) []questionView {
	qn := questionnaire()
	views := make([]questionView, 0, len(qn.Questions))
	for _, q := range qn.Questions {
		v := questionView{Question: q, MaxChars: frontend.MaxShortText}
		if q.Type == frontend.LongText {
			v.MaxChars = frontend.MaxLongText
		}
		names := q.FieldNames()
		v.Value = raw[names[0]]
		if q.Type == frontend.MonthRange {
			v.From, v.To = raw[names[0]], raw[names[1]]
		}
		if problem != nil && problem.Question.ID == q.ID {
			v.Error = s.translate(c, s.problemPhrase(c, problem))
		}
		views = append(views, v)
	}
	return views
}

// renderAnswersRefused shows the report form again, for the same channel,
// with everything the refused report carried and what was wrong.
func (s *Server) renderAnswersRefused(c *fiber.Ctx, r *answersRefused, pick *channelPick) error {
	s.refused(refusedMalformed)
	lang := languageOf(c).Tag
	form := reportForm{uploadLimits: s.limits(), Text: r.text, Form: newFormToken(), Channel: pick.view(lang),
		Questions: s.questionViews(c, r.raw, r.problem),
		Error:     s.translate(c, s.problemPhrase(c, r.problem), say("Nothing was saved. Your answers and text are below: please correct that answer and send again.")),
		Refused:   &keptReport{Text: r.text, Files: r.files, Keep: r.keep}}
	form.Identity = s.identityForm(c.UserContext(), pick.view(lang), r.person)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, http.StatusBadRequest, "report", "Make a report", form)
}

// translateAnswers puts the reporter's answers on their case page in their
// language, where the question is still asked as it was (the same
// questionnaire and version); otherwise they stay as stored, in English.
func (s *Server) translateAnswers(c *fiber.Ctx, msgs []caseMessage) {
	qn := questionnaire()
	for i := range msgs {
		for j, a := range msgs[i].Answers {
			q := qn.Question(a.ID)
			if q == nil || q.Label != a.Label {
				continue
			}
			msgs[i].Answers[j].Label = s.translate(c, say(q.LabelKey()))
			for _, ch := range q.Choices {
				if ch.Value == a.Value {
					msgs[i].Answers[j].Value = s.translate(c, say(ch.Key))
				}
			}
		}
	}
}
