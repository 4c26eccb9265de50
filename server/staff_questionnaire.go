package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// The intake questions editor (issue 12): an administrator edits a
// channel's questionnaire as one server-rendered form that works without
// JavaScript. The draft lives only in the form: every button posts the
// whole draft, and the server answers with the draft changed (a question
// added, removed or moved) but stores nothing until "Save as version N",
// which validates it (frontend.Questionnaire.Validate) and stores it as
// the channel's next version (storage.DB.SaveQuestionnaire). Stored
// versions never change, so a case always reads as it was asked.
//
// Field names are indexed by step and question: "steps" and
// "s<i>_questions" count them; "s<i>_title_<lang>", "s<i>_when" (a
// question id) and "s<i>_values" ("<question id>:<value>", once per answer
// ticked) describe step i; "s<i>_q<j>_id", "_type", "_required", "_summary",
// "_precision", "_label_<lang>", "_help_<lang>" and "_choices_<lang>" (one
// choice a line; English choiceLines are the values) describe its question j.

// Limits on a draft as the editor's form sends it. The texts' own limits
// (in characters) are Validate's; these bound bytes before anything is
// parsed, whatever a form claims.
const (
	// maxDraftForm bounds the bytes of all a draft's fields: a full
	// questionnaire in six languages.
	maxDraftForm = 4 << 20
	// maxDraftFields bounds the number of fields in a draft form.
	maxDraftFields = 20000
	// maxDraftField bounds one field's bytes: the longest draftText (a help
	// text, or a question's choices one a line) in four-byte characters.
	maxDraftField = utf8.UTFMax * frontend.MaxChoices * (frontend.MaxChoiceText + 2)
	// maxDraftName bounds a field's name ("s9_q59_choices_en" and the like).
	maxDraftName = 40
)

// questionnaireID names a channel's own questionnaire.
func questionnaireID(channel int64) string { return "channel-" + strconv.FormatInt(channel, 10) }

// questionTypeNames are the question types as administrators read them.
var questionTypeNames = map[string]string{
	frontend.ShortText:   "Short text",
	frontend.LongText:    "Long text",
	frontend.Choice:      "Single choice",
	frontend.MultiChoice: "Multiple choice",
	frontend.YesNo:       "Yes or no",
	frontend.Date:        "Date",
	frontend.DateRange:   "Date range",
	frontend.File:        "Files",
	frontend.MonthRange:  "Month range (older questionnaires)",
}

func questionTypeName(t string) string {
	if n, ok := questionTypeNames[t]; ok {
		return n
	}
	return "unknown type " + strconv.Quote(t)
}

// A draft is a questionnaire being edited, as its form holds it: draftTexts as
// typed (choices one a line), possibly not yet valid.
type draft struct {
	Base  int // the newest version when editing began: SaveQuestionnaire's ifNewest
	Steps []draftStep
}

type draftStep struct {
	Title     map[string]string
	When      string   // question id, "" for always asked
	Values    []string // answers of When that ask the step
	Questions []draftQuestion
}

type draftQuestion struct {
	ID, Type, Precision string
	Required            bool
	Summary             bool // shown in the inbox
	Label, Help         map[string]string
	Choices             map[string]string // by language: one choice a line
}

// draftOf turns a questionnaire into a draft.
func draftOf(qn *frontend.Questionnaire, base int) *draft {
	d := &draft{Base: base}
	for _, st := range qn.Steps {
		ds := draftStep{Title: copyText(st.Title)}
		if st.When != nil {
			ds.When, ds.Values = st.When.Question, append([]string(nil), st.When.Values...)
		}
		for _, q := range st.Questions {
			dq := draftQuestion{ID: q.ID, Type: q.Type, Precision: q.Precision, Required: q.Required, Summary: q.Summary,
				Label: copyText(q.Label), Help: copyText(q.Help), Choices: map[string]string{}}
			for _, l := range frontend.Languages {
				// One choice a line: a choice's text of several lines (which
				// a file may hold) becomes one.
				ls := make([]string, len(q.Choices))
				used := false
				for k, c := range q.Choices {
					if l.Tag == frontend.DefaultLanguage {
						ls[k] = c.Value
					} else {
						ls[k] = c.Label[l.Tag]
					}
					ls[k] = strings.ReplaceAll(ls[k], "\n", " ")
					used = used || ls[k] != ""
				}
				if used {
					dq.Choices[l.Tag] = strings.Join(ls, "\n")
				}
			}
			ds.Questions = append(ds.Questions, dq)
		}
		d.Steps = append(d.Steps, ds)
	}
	return d
}

// copyText copies a questionnaire's text into a draft, which must not
// share the maps of a questionnaire other requests read (the built-in
// default).
func copyText(t frontend.Text) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// draftForm reads the editor's multipart form, its CSRF token checked
// first, within the draft's limits: fields only, no files.
func (s *Server) draftForm(c *fiber.Ctx) (url.Values, error) {
	mr, _, err := s.staffMultipart(c)
	if err != nil {
		return nil, err
	}
	form, fields, total := url.Values{}, 0, 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return nil, staffBadRequest("The draft was incomplete or malformed.")
		}
		if part.FileName() != "" {
			return nil, staffBadRequest("The draft had a file in it.")
		}
		if len(part.FormName()) > maxDraftName {
			return nil, staffBadRequest("The draft had a field the editor does not send.")
		}
		if fields++; fields > maxDraftFields {
			return nil, staffBadRequest("The draft has more than %d fields.", maxDraftFields)
		}
		v, err := readField(part, maxDraftField)
		if err != nil {
			return nil, staffBadRequest("The draft's field %q is too long or could not be read.", fieldName(part.FormName()))
		}
		if total += len(v); total > maxDraftForm {
			return nil, staffBadRequest("The draft is larger than %d MiB.", maxDraftForm>>20)
		}
		form.Add(part.FormName(), v)
	}
}

// draftFrom reads a draft from the editor's form. It refuses only what
// the form itself would never send (too many steps or questions, a field
// too long); what is merely not valid yet stays in the draft for
// Validate to explain.
func draftFrom(form url.Values) (*draft, error) {
	if len(form) > maxDraftFields {
		return nil, staffBadRequest("The draft has more than %d fields.", maxDraftFields)
	}
	for name, vs := range form {
		for _, v := range vs {
			if len(v) > maxDraftField || !utf8.ValidString(v) {
				return nil, staffBadRequest("The draft's field %q is too long or not readable text.", fieldName(name))
			}
		}
	}
	count := func(name string, max int) (int, error) {
		v := form.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > max {
			return 0, staffBadRequest("The draft was not sent as the editor sends it.")
		}
		return n, nil
	}
	base, err := count("base", 1<<30)
	if err != nil {
		return nil, err
	}
	steps, err := count("steps", frontend.MaxSteps)
	if err != nil {
		return nil, err
	}
	d := &draft{Base: base}
	total := 0
	for i := 0; i < steps; i++ {
		p := fmt.Sprintf("s%d_", i)
		n, err := count(p+"questions", frontend.MaxQuestions)
		if err != nil {
			return nil, err
		}
		if total += n; total > frontend.MaxQuestions {
			return nil, staffBadRequest("The draft has more than %d questions.", frontend.MaxQuestions)
		}
		st := draftStep{Title: draftTexts(form, p+"title_"), When: strings.TrimSpace(form.Get(p + "when"))}
		if st.When != "" {
			for _, v := range form[p+"values"] {
				if id, value, ok := strings.Cut(v, ":"); ok && id == st.When {
					st.Values = append(st.Values, value)
				}
			}
		}
		for j := 0; j < n; j++ {
			qp := fmt.Sprintf("%sq%d_", p, j)
			st.Questions = append(st.Questions, draftQuestion{
				ID:        strings.TrimSpace(form.Get(qp + "id")),
				Type:      form.Get(qp + "type"),
				Precision: form.Get(qp + "precision"),
				Required:  form.Get(qp+"required") == "on",
				Summary:   form.Get(qp+"summary") == "on",
				Label:     draftTexts(form, qp+"label_"),
				Help:      draftTexts(form, qp+"help_"),
				Choices:   draftTexts(form, qp+"choices_"),
			})
		}
		d.Steps = append(d.Steps, st)
	}
	return d, nil
}

// fieldName quotes a field's name for an error message, shortened.
func fieldName(name string) string {
	if len(name) > 40 || !utf8.ValidString(name) {
		return "(a long name)"
	}
	return name
}

// draftTexts reads the fields prefix+lang of every language, as typed.
func draftTexts(form url.Values, prefix string) map[string]string {
	t := map[string]string{}
	for _, l := range frontend.Languages {
		if v := form.Get(prefix + l.Tag); v != "" {
			t[l.Tag] = v
		}
	}
	return t
}

// draftText makes a questionnaire's Text of a draft's texts: line ends "\n",
// space trimmed, empty ones left out.
func draftText(t map[string]string) frontend.Text {
	out := frontend.Text{}
	for lang, s := range t {
		if s = frontend.Normalize(s); s != "" {
			out[lang] = s
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// questionnaire turns the draft into the questionnaire it describes, not
// yet validated; an error says which choices' choiceLines do not line up.
func (d *draft) questionnaire(channel int64) (*frontend.Questionnaire, error) {
	qn := &frontend.Questionnaire{ID: questionnaireID(channel), Version: d.Base + 1}
	for i, ds := range d.Steps {
		st := frontend.Step{Title: draftText(ds.Title), Questions: []frontend.Question{}}
		if ds.When != "" {
			st.When = &frontend.Condition{Question: ds.When, Values: append([]string{}, ds.Values...)}
		}
		for j, dq := range ds.Questions {
			q := frontend.Question{ID: dq.ID, Type: dq.Type, Required: dq.Required, Summary: dq.Summary,
				Label: draftText(dq.Label), Help: draftText(dq.Help)}
			if q.Label == nil {
				q.Label = frontend.Text{}
			}
			if dq.Type == frontend.DateRange {
				q.Precision = dq.Precision
			}
			if dq.Type == frontend.Choice || dq.Type == frontend.MultiChoice {
				choices, err := choicesOf(dq.Choices)
				if err != nil {
					return nil, fmt.Errorf("step %d, question %d (%q): %w", i+1, j+1, dq.ID, err)
				}
				q.Choices = choices
			}
			st.Questions = append(st.Questions, q)
		}
		qn.Steps = append(qn.Steps, st)
	}
	return qn, nil
}

// choiceLines splits a choices field into lines, trimmed, without the empty
// choiceLines at its end.
func choiceLines(s string) []string {
	ls := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for k := range ls {
		ls[k] = strings.TrimSpace(ls[k])
	}
	for len(ls) > 0 && ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// choicesOf reads a question's choices: each English line is a choice
// (its value), and line k of another language translates English line k.
func choicesOf(byLang map[string]string) ([]frontend.QuestionChoice, error) {
	en := choiceLines(byLang[frontend.DefaultLanguage])
	if len(en) == 0 {
		return nil, nil // Validate says that choices are needed
	}
	var out []frontend.QuestionChoice
	for _, v := range en {
		if v != "" {
			out = append(out, frontend.QuestionChoice{Value: v, Label: frontend.Text{frontend.DefaultLanguage: v}})
		}
	}
	for _, l := range frontend.Languages {
		if l.Tag == frontend.DefaultLanguage {
			continue
		}
		tr := choiceLines(byLang[l.Tag])
		if len(tr) > len(en) {
			return nil, fmt.Errorf("the %s choices have more lines than the English ones: write one translation a line, in the order of the English lines", l.Name)
		}
		c := 0
		for k, v := range en {
			if v == "" {
				if k < len(tr) && tr[k] != "" {
					return nil, fmt.Errorf("line %d of the %s choices translates an empty English line", k+1, l.Name)
				}
				continue
			}
			if k < len(tr) && tr[k] != "" {
				out[c].Label[l.Tag] = tr[k]
			}
			c++
		}
	}
	return out, nil
}

// apply performs a draft action that is not "save" and returns a message
// if it could not be done (the draft is then unchanged).
func (d *draft) apply(action string) string {
	verb, rest, _ := strings.Cut(action, ":")
	var i, j int
	idx := strings.Split(rest, ":")
	parse := func(n int) bool {
		if len(idx) != n {
			return false
		}
		var err error
		if i, err = strconv.Atoi(idx[0]); err != nil || i < 0 || i >= len(d.Steps) {
			return false
		}
		if n == 2 {
			if j, err = strconv.Atoi(idx[1]); err != nil || j < 0 || j >= len(d.Steps[i].Questions) {
				return false
			}
		}
		return true
	}
	total := 0
	for _, st := range d.Steps {
		total += len(st.Questions)
	}
	switch verb {
	case "update":
		return ""
	case "add-step":
		if len(d.Steps) >= frontend.MaxSteps {
			return fmt.Sprintf("A questionnaire may have at most %d steps.", frontend.MaxSteps)
		}
		d.Steps = append(d.Steps, draftStep{})
		return ""
	case "add-question":
		if !parse(1) {
			break
		}
		if total >= frontend.MaxQuestions {
			return fmt.Sprintf("A questionnaire may have at most %d questions.", frontend.MaxQuestions)
		}
		d.Steps[i].Questions = append(d.Steps[i].Questions, draftQuestion{Type: frontend.ShortText})
		return ""
	case "remove-step":
		if !parse(1) {
			break
		}
		d.Steps = append(d.Steps[:i], d.Steps[i+1:]...)
		return ""
	case "remove-question":
		if !parse(2) {
			break
		}
		qs := d.Steps[i].Questions
		d.Steps[i].Questions = append(qs[:j], qs[j+1:]...)
		return ""
	case "up", "down":
		if !parse(2) {
			break
		}
		qs := d.Steps[i].Questions
		switch {
		case verb == "up" && j > 0:
			qs[j-1], qs[j] = qs[j], qs[j-1]
		case verb == "down" && j < len(qs)-1:
			qs[j+1], qs[j] = qs[j], qs[j+1]
		case verb == "up" && i > 0: // the first question moves to the end of the step before
			q := qs[j]
			d.Steps[i].Questions = qs[1:]
			d.Steps[i-1].Questions = append(d.Steps[i-1].Questions, q)
		case verb == "down" && i < len(d.Steps)-1: // the last moves to the start of the step after
			q := qs[j]
			d.Steps[i].Questions = qs[:j]
			d.Steps[i+1].Questions = append([]draftQuestion{q}, d.Steps[i+1].Questions...)
		}
		return ""
	}
	return "That change could not be made to the draft. Nothing was changed."
}

// Views for the template.

type shownText struct {
	Code, Name string
	RTL        bool
	Value      string
}

type shownChoice struct {
	Value        string
	Translations []shownText
}

type shownQuestion struct {
	N                   int
	ID, Type, Precision string
	Required            bool
	Summary             bool // shown in the inbox
	Texts               []shownTexts
	Choices             []shownChoice
	Missing             []string // languages lacking a draftText of this question
}

type shownTexts struct {
	Code, Name  string
	RTL         bool
	Label, Help string
}

type shownStep struct {
	N         int
	Title     []shownText
	When      string // the condition, in words; "" if always asked
	Questions []shownQuestion
}

// questionnaireView is a stored (or the built-in) questionnaire, readable.
type questionnaireView struct {
	Version int    // 0 for the built-in default
	Builtin bool   // the built-in default, never edited for this channel
	SavedBy string // who saved it
	SavedAt string
	Steps   []shownStep
	Missing []string // languages with at least one draftText missing
}

func questionnaireViewOf(qn *frontend.Questionnaire) questionnaireView {
	v := questionnaireView{}
	allMissing := map[string]bool{}
	for i, st := range qn.Steps {
		sv := shownStep{N: i + 1}
		for _, l := range frontend.Languages {
			if s := st.Title[l.Tag]; s != "" {
				sv.Title = append(sv.Title, shownText{Code: l.Tag, Name: l.Name, RTL: l.RTL, Value: s})
			} else if st.Title[frontend.DefaultLanguage] != "" {
				allMissing[l.Tag] = true
			}
		}
		if w := st.When; w != nil {
			sv.When = fmt.Sprintf("Asked only when the answer to %q is %s.", w.Question, quotedOr(w.Values))
		}
		for j, q := range st.Questions {
			qv := shownQuestion{N: j + 1, ID: q.ID, Type: questionTypeName(q.Type), Required: q.Required, Summary: q.Summary}
			if q.Type == frontend.DateRange {
				qv.Precision = "months"
				if q.DayPrecision() {
					qv.Precision = "days"
				}
			}
			for _, l := range frontend.Languages {
				label, help := q.Label[l.Tag], q.Help[l.Tag]
				missing := label == "" || (help == "" && q.Help[frontend.DefaultLanguage] != "")
				if label != "" || help != "" {
					qv.Texts = append(qv.Texts, shownTexts{Code: l.Tag, Name: l.Name, RTL: l.RTL, Label: label, Help: help})
				}
				for _, c := range q.Choices {
					missing = missing || c.Label[l.Tag] == ""
				}
				if missing && l.Tag != frontend.DefaultLanguage {
					qv.Missing = append(qv.Missing, l.Name)
					allMissing[l.Tag] = true
				}
			}
			for _, c := range q.Choices {
				cv := shownChoice{Value: c.Value}
				for _, l := range frontend.Languages {
					if s := c.Label[l.Tag]; s != "" && l.Tag != frontend.DefaultLanguage {
						cv.Translations = append(cv.Translations, shownText{Code: l.Tag, Name: l.Name, RTL: l.RTL, Value: s})
					}
				}
				qv.Choices = append(qv.Choices, cv)
			}
			sv.Questions = append(sv.Questions, qv)
		}
		v.Steps = append(v.Steps, sv)
	}
	for _, l := range frontend.Languages {
		if allMissing[l.Tag] {
			v.Missing = append(v.Missing, l.Name)
		}
	}
	return v
}

// quotedOr writes values as `"a", "b" or "c"`.
func quotedOr(values []string) string {
	q := make([]string, len(values))
	for k, v := range values {
		q[k] = strconv.Quote(v)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

type typeOption struct {
	Value, Label string
	Selected     bool
}

type conditionValue struct {
	Field, Value string // Field is "<question id>:<value>"
	ID           string // an HTML id
	Checked      bool
}

type conditionOption struct {
	ID, Label string
	Selected  bool
	Values    []conditionValue
	// The step's number and field name prefix.
	StepN int
	StepP string
}

type titleField struct {
	Name, Code, Lang string
	RTL              bool
	Value            string
}

type draftQuestionView struct {
	P       string // field name prefix: "s0_q1_"
	N       int
	ID      string
	Types   []typeOption
	Day     bool // precision of days
	Req     bool
	Summary bool // shown in the inbox
	English struct{ Label, Help, Choices string }
	Others  []draftTranslation
	First   bool // the first question of the first step
	Last    bool // the last question of the last step
	I, J    int
}

type draftTranslation struct {
	Code, Name  string
	RTL         bool
	Label, Help string
	Choices     string
}

type draftStepView struct {
	P       string // "s0_"
	I, N    int
	Last    bool
	Title   []titleField
	Options []conditionOption
	// Unselected: some options are not the question chosen.
	Unselected bool
	When       string
	Questions  []draftQuestionView
}

type draftView struct {
	Base, Next int
	Steps      []draftStepView
	Count      int // questions
	CanAdd     bool
	CanAddStep bool
}

func (d *draft) view() draftView {
	v := draftView{Base: d.Base, Next: d.Base + 1, CanAddStep: len(d.Steps) < frontend.MaxSteps}
	// Questions of earlier steps that a condition may name.
	type candidate struct {
		id, label string
		values    []string
	}
	var earlier []candidate
	for i, ds := range d.Steps {
		sv := draftStepView{P: fmt.Sprintf("s%d_", i), I: i, N: i + 1, Last: i == len(d.Steps)-1, When: ds.When}
		for _, l := range frontend.Languages {
			sv.Title = append(sv.Title, titleField{Name: sv.P + "title_" + l.Tag, Code: l.Tag, Lang: l.Name, RTL: l.RTL, Value: ds.Title[l.Tag]})
		}
		known := false
		for n, c := range earlier {
			o := conditionOption{ID: c.id, Label: c.label, Selected: c.id == ds.When, StepN: sv.N, StepP: sv.P}
			sv.Unselected = sv.Unselected || !o.Selected
			known = known || o.Selected
			for k, value := range c.values {
				o.Values = append(o.Values, conditionValue{Field: c.id + ":" + value, Value: value,
					ID: fmt.Sprintf("%swhen_%d_%d", sv.P, n, k), Checked: o.Selected && hasString(ds.Values, value)})
			}
			sv.Options = append(sv.Options, o)
		}
		if ds.When != "" && !known {
			// Kept as it came (from an upload, or a question since changed),
			// for Validate to explain.
			o := conditionOption{ID: ds.When, Label: ds.When + " (not a choice question of an earlier step)", Selected: true, StepN: sv.N, StepP: sv.P}
			for k, value := range ds.Values {
				o.Values = append(o.Values, conditionValue{Field: ds.When + ":" + value, Value: value,
					ID: fmt.Sprintf("%swhen_x_%d", sv.P, k), Checked: true})
			}
			sv.Options = append(sv.Options, o)
		}
		for j, dq := range ds.Questions {
			qv := draftQuestionView{P: fmt.Sprintf("%sq%d_", sv.P, j), N: j + 1, I: i, J: j, ID: dq.ID, Req: dq.Required, Summary: dq.Summary,
				Day:   dq.Precision == frontend.PrecisionDay,
				First: i == 0 && j == 0, Last: i == len(d.Steps)-1 && j == len(ds.Questions)-1}
			known := false
			for _, t := range frontend.QuestionTypes {
				qv.Types = append(qv.Types, typeOption{Value: t, Label: questionTypeName(t), Selected: t == dq.Type})
				known = known || t == dq.Type
			}
			if !known {
				qv.Types = append(qv.Types, typeOption{Value: dq.Type, Label: questionTypeName(dq.Type), Selected: true})
			}
			qv.English.Label, qv.English.Help, qv.English.Choices = dq.Label[frontend.DefaultLanguage], dq.Help[frontend.DefaultLanguage], dq.Choices[frontend.DefaultLanguage]
			for _, l := range frontend.Languages[1:] {
				qv.Others = append(qv.Others, draftTranslation{Code: l.Tag, Name: l.Name, RTL: l.RTL,
					Label: dq.Label[l.Tag], Help: dq.Help[l.Tag], Choices: dq.Choices[l.Tag]})
			}
			sv.Questions = append(sv.Questions, qv)
			v.Count++
			if id := strings.TrimSpace(dq.ID); id != "" {
				c := candidate{id: id, label: id + " (" + questionTypeName(dq.Type) + ")"}
				switch dq.Type {
				case frontend.YesNo:
					c.values = []string{frontend.YesValue, frontend.NoValue}
				case frontend.Choice, frontend.MultiChoice:
					for _, line := range choiceLines(dq.Choices[frontend.DefaultLanguage]) {
						if line != "" && !hasString(c.values, line) {
							c.values = append(c.values, line)
						}
					}
				default:
					continue
				}
				earlier = append(earlier, c)
			}
		}
		v.Steps = append(v.Steps, sv)
	}
	v.CanAdd = v.Count < frontend.MaxQuestions
	return v
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// questionnairePage is the data of staff_questions.html.
type questionnairePage struct {
	Channel  storage.Channel
	Name     string
	Current  questionnaireView
	Shown    questionnaireView // the version shown read-only (the current one on the editor page)
	Versions []versionRow
	Newest   int // newest stored version, 0 if none
	// Editor is the draft, nil on a read-only version's page.
	Editor *draftView
	// Problem is why the draft was not saved or changed; Notice says
	// what was done.
	Problem string
	Notice  string
	MaxJSON int64
	// Collapse the current questions: the page answers the editor's
	// form, whose draft is what the administrator is working on.
	Collapse bool
	// MaxSummary is how many questions may be shown in the inbox.
	MaxSummary int
}

type versionRow struct {
	Version int
	SavedBy string
	SavedAt string
	Current bool
}

// versionSavedAt formats when a version was saved, as administrators read it.
func versionSavedAt(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("2 January 2006, 15:04 UTC")
}

// currentQuestionnaire returns a channel's newest questionnaire, parsed,
// and its stored record (zero for the built-in default).
func (s *Server) currentQuestionnaire(c *fiber.Ctx, ch storage.Channel) (*frontend.Questionnaire, storage.StoredQuestionnaire, error) {
	stored, err := s.db.Questionnaire(c.UserContext(), ch.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return s.defaultQuestionnaire, storage.StoredQuestionnaire{}, nil
	}
	if err != nil {
		return nil, stored, err
	}
	qn, err := frontend.ParseQuestionnaire(questionnaireID(ch.ID), stored.Version, stored.Definition)
	if err != nil {
		return nil, stored, fmt.Errorf("failed to read channel %d's questionnaire version %d: %w", ch.ID, stored.Version, err)
	}
	return qn, stored, nil
}

// storedView describes a stored version, with who saved it.
func (s *Server) storedView(c *fiber.Ctx, qn *frontend.Questionnaire, stored storage.StoredQuestionnaire) questionnaireView {
	v := questionnaireViewOf(qn)
	if stored.Version == 0 {
		v.Builtin = true
		return v
	}
	v.Version, v.SavedAt, v.SavedBy = stored.Version, versionSavedAt(stored.CreatedAt), s.staffNameOf(c, stored.CreatedBy)
	return v
}

// staffNameOf is a staff member's username, or what to say when the
// account is gone.
func (s *Server) staffNameOf(c *fiber.Ctx, id int64) string {
	if id == 0 {
		return "an account since removed"
	}
	st, err := s.db.StaffByID(c.UserContext(), id)
	if err != nil {
		return fmt.Sprintf("staff account %d", id)
	}
	return st.Username
}

// renderQuestionnaire renders a channel's questions page: the current
// questionnaire, the versions, and the editor holding d (the current
// questionnaire if nil); or with shown, that version read-only.
func (s *Server) renderQuestionnaire(c *fiber.Ctx, status int, ch storage.Channel, d *draft, shown *questionnaireView, problem, notice string) error {
	qn, stored, err := s.currentQuestionnaire(c, ch)
	if err != nil {
		return err
	}
	if d == nil && shown == nil {
		d = draftOf(qn, stored.Version)
	}
	versions, err := s.db.QuestionnaireVersions(c.UserContext(), ch.ID)
	if err != nil {
		return err
	}
	p := questionnairePage{Channel: ch, Name: ch.Text(storage.DefaultLanguage).Name, Current: s.storedView(c, qn, stored), MaxSummary: frontend.MaxSummaryQuestions,
		Newest: stored.Version, Problem: problem, Notice: notice, MaxJSON: frontend.MaxDefinition,
		Collapse: c.Method() == fiber.MethodPost}
	names := map[int64]string{}
	for _, v := range versions {
		if _, ok := names[v.CreatedBy]; !ok {
			names[v.CreatedBy] = s.staffNameOf(c, v.CreatedBy)
		}
		p.Versions = append(p.Versions, versionRow{Version: v.Version, SavedBy: names[v.CreatedBy], SavedAt: versionSavedAt(v.CreatedAt),
			Current: v.Version == stored.Version})
	}
	p.Shown = p.Current
	if shown != nil {
		p.Shown = *shown
	}
	title := "Intake questions of " + p.Name
	if d != nil {
		v := d.view()
		p.Editor = &v
	} else {
		title = fmt.Sprintf("Version %d of the intake questions of %s", p.Shown.Version, p.Name)
	}
	return s.renderStaff(c, status, "staff_questions", title, p)
}

// errQuestionnaireVersion is a version of a channel's questionnaire that
// does not exist.
var errQuestionnaireVersion = &staffError{status: http.StatusNotFound, title: "No such version",
	message: "This channel's questionnaire has no such version."}
