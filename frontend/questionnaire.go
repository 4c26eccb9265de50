package frontend

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Intake questions. A Questionnaire is a versioned list of steps, each a
// list of questions, asked on the report form. Its answers travel inside
// the report's encrypted first message, each with the wording (in the
// default language) it was asked with, so a case reads as it was asked
// even after the questionnaire changes: an edited questionnaire is a new
// Version, and a stored version is never changed.
//
// Each channel has its own questionnaire, edited by administrators and
// stored as JSON (Definition); a channel whose administrators never edited
// one asks the built-in default, DefaultQuestionnaire, whose wording lives
// in the message catalogues under "q.<id>.<question>.label" and ".help"
// and each choice's key.
//
// Steps are pages of the report form, shown one after the other with
// JavaScript off; a step may be shown only when an earlier answer is one
// of some values (Step.When). The last step is on the same page as the
// report's text and files: file questions may only be there, and it is
// always shown.

// Question types.
const (
	ShortText   = "short_text"   // one line, at most MaxShortText characters
	LongText    = "long_text"    // several lines, at most MaxLongText characters
	Choice      = "choice"       // one of Choices, by its Value
	MultiChoice = "multi_choice" // any of Choices
	YesNo       = "yes_no"       // YesValue or NoValue
	Date        = "date"         // a day, YYYY-MM-DD
	DateRange   = "date_range"   // two days or months (Precision), from ≤ to; either may be empty
	File        = "file"         // files sent with the report, in the last step
	// MonthRange is the date range of questionnaires written before
	// DateRange had a precision: a DateRange of months.
	MonthRange = "month_range"
)

// QuestionTypes are the types an administrator may choose.
var QuestionTypes = []string{ShortText, LongText, Choice, MultiChoice, YesNo, Date, DateRange, File}

// Precisions of a DateRange.
const (
	PrecisionMonth = "month" // YYYY-MM
	PrecisionDay   = "day"   // YYYY-MM-DD
)

// The values of a YesNo answer, in English as every value is stored; shown
// to reporters through the catalogue keys YesKey and NoKey.
const (
	YesValue = "Yes"
	NoValue  = "No"
	YesKey   = "q.choice.yes"
	NoKey    = "q.choice.no"
)

// Limits on answers, in characters, and on definitions.
const (
	MaxShortText = 200
	MaxLongText  = 5000

	MaxSteps      = 10
	MaxQuestions  = 60 // in a whole questionnaire
	MaxChoices    = 30
	MaxLabel      = 300
	MaxHelp       = 1000
	MaxChoiceText = 200
	MaxStepTitle  = 200
	// MaxDefinition bounds a definition's JSON, in bytes.
	MaxDefinition = 512 << 10
)

// DefaultLanguage is the language every text of a questionnaire must have:
// the one its answers are stored in, and the fallback for the others.
const DefaultLanguage = "en"

// Text is a text in several languages, by language tag.
type Text map[string]string

// In returns the text in lang, or in DefaultLanguage.
func (t Text) In(lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	return t[DefaultLanguage]
}

// A Questionnaire is a versioned list of steps. ID and Version are not
// part of the stored definition: they name it ("police-conduct", the
// built-in default; "channel-<id>" for a channel's own).
type Questionnaire struct {
	ID      string `json:"-"`
	Version int    `json:"-"`
	Steps   []Step `json:"steps"`
}

// A Step is one page of questions. When set, the step is asked only when
// the answer to an earlier step's question is one of When's values.
type Step struct {
	Title     Text       `json:"title,omitempty"`
	When      *Condition `json:"when,omitempty"`
	Questions []Question `json:"questions"`
}

// A Condition holds when the answer to Question (a Choice, MultiChoice or
// YesNo of an earlier step) is, or for a MultiChoice includes, one of
// Values.
type Condition struct {
	Question string   `json:"question"`
	Values   []string `json:"values"`
}

// A Question is one question of a questionnaire.
type Question struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
	Label    Text   `json:"label"`
	Help     Text   `json:"help,omitempty"`
	// Choices of a Choice or MultiChoice question.
	Choices []QuestionChoice `json:"choices,omitempty"`
	// Precision of a DateRange: PrecisionMonth (the default) or
	// PrecisionDay.
	Precision string `json:"precision,omitempty"`
	// Summary: "show in the inbox". The answer goes into the case's
	// encrypted inbox summary as well as its report (SECURITY.md), so
	// that caseworkers see what a case is about without opening it. Only
	// short answers (SummaryTypes), at most MaxSummaryQuestions.
	Summary bool `json:"summary,omitempty"`
}

// MaxSummaryQuestions bounds the questions shown in the inbox: a summary
// is a line or two, not the report.
const MaxSummaryQuestions = 3

// SummaryTypes are the types of question whose answer may be shown in the
// inbox: short by construction.
var SummaryTypes = []string{ShortText, Choice, YesNo, Date}

// InSummary reports whether a question of type typ may be shown in the
// inbox.
func InSummary(typ string) bool {
	for _, t := range SummaryTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// A QuestionChoice is one answer of a Choice or MultiChoice question:
// Value is its text in the default language, stored in the answer.
type QuestionChoice struct {
	Value string `json:"value"`
	Label Text   `json:"label"`
}

// Question returns the question with the given id, or nil.
func (qn *Questionnaire) Question(id string) *Question {
	for i := range qn.Steps {
		for j := range qn.Steps[i].Questions {
			if qn.Steps[i].Questions[j].ID == id {
				return &qn.Steps[i].Questions[j]
			}
		}
	}
	return nil
}

// Questions returns every question, in order.
func (qn *Questionnaire) Questions() []*Question {
	var out []*Question
	for i := range qn.Steps {
		for j := range qn.Steps[i].Questions {
			out = append(out, &qn.Steps[i].Questions[j])
		}
	}
	return out
}

// StepOf returns the index of the step that asks question id, or -1.
func (qn *Questionnaire) StepOf(id string) int {
	for i := range qn.Steps {
		for _, q := range qn.Steps[i].Questions {
			if q.ID == id {
				return i
			}
		}
	}
	return -1
}

// Ref is how a case records the questionnaire it was asked with:
// "<id>@<version>".
func (qn *Questionnaire) Ref() string { return fmt.Sprintf("%s@%d", qn.ID, qn.Version) }

// Definition encodes the questionnaire as the JSON that is stored.
func (qn *Questionnaire) Definition() ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(qn); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ParseQuestionnaire decodes and checks a stored or submitted definition.
func ParseQuestionnaire(id string, version int, definition []byte) (*Questionnaire, error) {
	if len(definition) > MaxDefinition {
		return nil, errors.New("the questionnaire is too large")
	}
	d := json.NewDecoder(bytes.NewReader(definition))
	d.DisallowUnknownFields()
	qn := &Questionnaire{}
	if err := d.Decode(qn); err != nil {
		return nil, fmt.Errorf("the questionnaire is not valid JSON of the expected shape: %w", err)
	}
	if d.More() {
		return nil, errors.New("the questionnaire has data after its end")
	}
	qn.ID, qn.Version = id, version
	if err := qn.Validate(); err != nil {
		return nil, err
	}
	return qn, nil
}

var questionID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Validate checks a definition: known types, unique ids, the default
// language everywhere, limits, conditions on earlier choice questions, and
// file questions only in the last step, which has no condition. Its errors
// are meant for the administrator editing it.
func (qn *Questionnaire) Validate() error {
	if len(qn.Steps) > MaxSteps {
		return fmt.Errorf("a questionnaire may have at most %d steps", MaxSteps)
	}
	known := map[string]bool{}
	for _, l := range Languages {
		known[l.Tag] = true
	}
	checkText := func(what string, t Text, required bool, limit int) error {
		if required && strings.TrimSpace(t[DefaultLanguage]) == "" {
			return fmt.Errorf("%s needs a text in the default language (%s)", what, DefaultLanguage)
		}
		if !required && len(t) > 0 && strings.TrimSpace(t[DefaultLanguage]) == "" {
			return fmt.Errorf("%s has translations but no text in the default language (%s)", what, DefaultLanguage)
		}
		for lang, s := range t {
			if !known[lang] {
				return fmt.Errorf("%s has a text in %q, which is not a language of this service", what, lang)
			}
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > limit {
				return fmt.Errorf("%s in %s is longer than %d characters or unreadable", what, lang, limit)
			}
			for _, r := range s {
				if unicode.IsControl(r) && r != '\n' {
					return fmt.Errorf("%s in %s has control characters", what, lang)
				}
			}
		}
		return nil
	}
	seen := map[string]*Question{}
	count, summaries := 0, 0
	for i := range qn.Steps {
		st := &qn.Steps[i]
		where := fmt.Sprintf("step %d", i+1)
		if err := checkText(where+"'s title", st.Title, false, MaxStepTitle); err != nil {
			return err
		}
		if w := st.When; w != nil {
			if i == 0 {
				return errors.New("the first step cannot depend on an answer")
			}
			if i == len(qn.Steps)-1 {
				return errors.New("the last step is always asked (it is on the page with the report's text and files): it cannot depend on an answer")
			}
			on := seen[w.Question]
			if on == nil {
				return fmt.Errorf("%s depends on %q, which is not a question of an earlier step", where, w.Question)
			}
			if on.Type != Choice && on.Type != MultiChoice && on.Type != YesNo {
				return fmt.Errorf("%s depends on %q, which is not a choice, multiple choice or yes/no question", where, w.Question)
			}
			if len(w.Values) == 0 {
				return fmt.Errorf("%s depends on %q but names no answer", where, w.Question)
			}
			for _, v := range w.Values {
				if !on.offers(v) {
					return fmt.Errorf("%s depends on %q being %q, which is not one of its answers", where, w.Question, v)
				}
			}
		}
		for j := range st.Questions {
			q := &st.Questions[j]
			count++
			if count > MaxQuestions {
				return fmt.Errorf("a questionnaire may have at most %d questions", MaxQuestions)
			}
			if !questionID.MatchString(q.ID) {
				return fmt.Errorf("question id %q must be 1 to 40 lower-case letters, digits or _, starting with a letter", q.ID)
			}
			if seen[q.ID] != nil {
				return fmt.Errorf("question id %q is used twice", q.ID)
			}
			seen[q.ID] = q
			what := fmt.Sprintf("question %q", q.ID)
			if err := checkText(what+"'s label", q.Label, true, MaxLabel); err != nil {
				return err
			}
			if err := checkText(what+"'s help", q.Help, false, MaxHelp); err != nil {
				return err
			}
			switch q.Type {
			case Choice, MultiChoice:
				if len(q.Choices) == 0 || len(q.Choices) > MaxChoices {
					return fmt.Errorf("%s needs 1 to %d choices", what, MaxChoices)
				}
				values := map[string]bool{}
				for k, c := range q.Choices {
					if err := checkText(fmt.Sprintf("%s's choice %d", what, k+1), c.Label, true, MaxChoiceText); err != nil {
						return err
					}
					if c.Value != c.Label[DefaultLanguage] {
						return fmt.Errorf("%s's choice %d: its value must be its text in the default language", what, k+1)
					}
					if values[c.Value] {
						return fmt.Errorf("%s offers %q twice", what, c.Value)
					}
					values[c.Value] = true
				}
			case ShortText, LongText, YesNo, Date, File, DateRange, MonthRange:
				if len(q.Choices) > 0 {
					return fmt.Errorf("%s is not a choice question but has choices", what)
				}
			default:
				return fmt.Errorf("%s has an unknown type %q", what, q.Type)
			}
			if q.Precision != "" && (q.Type != DateRange || (q.Precision != PrecisionMonth && q.Precision != PrecisionDay)) {
				return fmt.Errorf("%s: only a date range has a precision, month or day", what)
			}
			if q.Summary {
				if !InSummary(q.Type) {
					return fmt.Errorf("%s is shown in the inbox, but only short text, choice, yes/no and date answers can be", what)
				}
				if summaries++; summaries > MaxSummaryQuestions {
					return fmt.Errorf("at most %d questions may be shown in the inbox", MaxSummaryQuestions)
				}
			}
			if q.Type == File && i != len(qn.Steps)-1 {
				return fmt.Errorf("%s asks for files: file questions must be in the last step, which is sent with the files", what)
			}
		}
	}
	return nil
}

// offers reports whether v is an answer of a choice or yes/no question.
func (q *Question) offers(v string) bool {
	if q.Type == YesNo {
		return v == YesValue || v == NoValue
	}
	for _, c := range q.Choices {
		if c.Value == v {
			return true
		}
	}
	return false
}

// DayPrecision reports whether a date range is of days rather than months.
func (q Question) DayPrecision() bool { return q.Type == DateRange && q.Precision == PrecisionDay }

// FieldNames are the form fields of a question: "q_<id>", or for a date
// range "q_<id>_from" and "q_<id>_to". A multiple choice sends "q_<id>"
// once per choice ticked; a file question sends its files as "q_<id>".
func (q Question) FieldNames() []string {
	if q.Type == DateRange || q.Type == MonthRange {
		return []string{"q_" + q.ID + "_from", "q_" + q.ID + "_to"}
	}
	return []string{"q_" + q.ID}
}

// MaxFieldBytes bounds the bytes of one form field of the question.
func (q Question) MaxFieldBytes() int {
	switch q.Type {
	case LongText:
		return utf8.UTFMax * MaxLongText * 2 // "\r\n" counts as one character
	case ShortText:
		return utf8.UTFMax * MaxShortText
	case Choice, MultiChoice:
		return utf8.UTFMax * MaxChoiceText
	}
	return 64
}

// MaxChars is the most characters a text answer may have (0 for others).
func (q Question) MaxChars() int {
	switch q.Type {
	case LongText:
		return MaxLongText
	case ShortText:
		return MaxShortText
	}
	return 0
}

// Answers are raw form values by field name, as url.Values holds them.
type Answers map[string][]string

// Get returns the first value of field name, or "".
func (a Answers) Get(name string) string {
	if v := a[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Has reports whether a multiple choice field holds v.
func (a Answers) Has(name, v string) bool {
	for _, x := range a[name] {
		if x == v {
			return true
		}
	}
	return false
}

// Shown reports whether step i is asked, given the raw answers: its
// condition holds (on an earlier step that is itself shown).
func (qn *Questionnaire) Shown(i int, raw Answers) bool {
	if i < 0 || i >= len(qn.Steps) {
		return false
	}
	w := qn.Steps[i].When
	if w == nil {
		return true
	}
	on := qn.StepOf(w.Question)
	if on < 0 || on >= i || !qn.Shown(on, raw) {
		return false
	}
	for _, v := range w.Values {
		if raw.Has("q_"+w.Question, v) {
			return true
		}
	}
	return false
}

// Next returns the step after i that is asked (i = -1 for the first), or
// -1 if there is none.
func (qn *Questionnaire) Next(i int, raw Answers) int {
	for j := i + 1; j < len(qn.Steps); j++ {
		if qn.Shown(j, raw) {
			return j
		}
	}
	return -1
}

// Previous returns the step before i that is asked, or -1.
func (qn *Questionnaire) Previous(i int, raw Answers) int {
	for j := i - 1; j >= 0; j-- {
		if qn.Shown(j, raw) {
			return j
		}
	}
	return -1
}

// Last returns the index of the last step (the one on the page with the
// report's text and files), or -1 for a questionnaire without steps.
func (qn *Questionnaire) Last() int { return len(qn.Steps) - 1 }

// An AnswerItem is one question answered: its id, type, label in the
// default language, and value (a choice's value; a date range as
// "2024-03 to 2024-05"). Values hold a multiple choice's values or a file
// question's file names; From and To a date range's ends.
type AnswerItem struct {
	ID, Type, Label, Value string
	Values                 []string
	From, To               string
}

// AnswerProblem says which answer is wrong and why.
type AnswerProblem struct {
	Question *Question
	Kind     ProblemKind
	Limit    int // for TooLong, in characters
}

// A ProblemKind is what is wrong with an answer.
type ProblemKind int

// Kinds of wrong answers.
const (
	Unreadable ProblemKind = iota // not valid UTF-8, or sent twice
	TooLong
	BadCharacters
	NotAChoice
	BadMonth // a month range end is not YYYY-MM
	MonthsReversed
	BadDate // a date is not YYYY-MM-DD
	Missing // a required question is not answered
)

var (
	monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)
	dayPattern   = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`)
)

// validDay checks YYYY-MM-DD and that the day exists in that month.
func validDay(s string) bool {
	if !dayPattern.MatchString(s) {
		return false
	}
	var y, m, d int
	fmt.Sscanf(s, "%d-%d-%d", &y, &m, &d)
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && (y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		days = 29
	}
	return d <= days
}

// Normalize makes a text answer's line ends "\n" and trims its space.
func Normalize(v string) string {
	return strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
}

// Check validates the raw answers of every step that is asked (answers to
// steps that are not are dropped) and returns the answered questions in
// order. files are the cleaned names of the files sent for each file
// question, by question id. The first wrong or missing answer is returned
// as a problem, and no items.
func (qn *Questionnaire) Check(raw Answers, files map[string][]string) ([]AnswerItem, *AnswerProblem) {
	var items []AnswerItem
	for i := range qn.Steps {
		if !qn.Shown(i, raw) {
			continue
		}
		got, problem := qn.checkStep(i, raw, files)
		if problem != nil {
			return nil, problem
		}
		items = append(items, got...)
	}
	return items, nil
}

// CheckStep validates the answers to step i only (files are never part of
// a step before the last).
func (qn *Questionnaire) CheckStep(i int, raw Answers) *AnswerProblem {
	if i < 0 || i >= len(qn.Steps) {
		return nil
	}
	_, problem := qn.checkStep(i, raw, nil)
	if problem != nil && problem.Kind == Missing && problem.Question.Type == File {
		return nil // the files come with the last page
	}
	return problem
}

func (qn *Questionnaire) checkStep(i int, raw Answers, files map[string][]string) ([]AnswerItem, *AnswerProblem) {
	var items []AnswerItem
	for j := range qn.Steps[i].Questions {
		q := &qn.Steps[i].Questions[j]
		item, kind, limit := q.check(raw, files[q.ID])
		if kind >= 0 {
			return nil, &AnswerProblem{Question: q, Kind: kind, Limit: limit}
		}
		if item == nil && q.Required {
			return nil, &AnswerProblem{Question: q, Kind: Missing}
		}
		if item != nil {
			items = append(items, *item)
		}
	}
	return items, nil
}

// check validates one question's answer: the item (nil if unanswered) or
// a problem kind (-1 if none).
func (q *Question) check(raw Answers, files []string) (*AnswerItem, ProblemKind, int) {
	names := q.FieldNames()
	for _, n := range names {
		if q.Type != MultiChoice && len(raw[n]) > 1 {
			return nil, Unreadable, 0
		}
		for _, v := range raw[n] {
			if !utf8.ValidString(v) {
				return nil, Unreadable, 0
			}
		}
	}
	item := &AnswerItem{ID: q.ID, Type: q.Type, Label: q.Label[DefaultLanguage]}
	v := raw.Get(names[0])
	switch q.Type {
	case ShortText, LongText:
		limit := q.MaxChars()
		if utf8.RuneCountInString(v) > limit {
			return nil, TooLong, limit
		}
		for _, r := range v {
			if (unicode.IsControl(r) && (q.Type == ShortText || r != '\n' && r != '\t')) || r == utf8.RuneError {
				return nil, BadCharacters, 0
			}
		}
		item.Value = v
	case Choice, YesNo:
		if v != "" && !q.offers(v) {
			return nil, NotAChoice, 0
		}
		item.Value = v
	case MultiChoice:
		for _, x := range raw[names[0]] {
			if x != "" && !q.offers(x) {
				return nil, NotAChoice, 0
			}
		}
		for _, c := range q.Choices { // in the question's order, once each
			if raw.Has(names[0], c.Value) {
				item.Values = append(item.Values, c.Value)
			}
		}
		item.Value = strings.Join(item.Values, "; ")
	case Date:
		if v != "" && !validDay(v) {
			return nil, BadDate, 0
		}
		item.Value = v
	case DateRange, MonthRange:
		from, to := raw.Get(names[0]), raw.Get(names[1])
		valid, bad := monthPattern.MatchString, BadMonth
		if q.DayPrecision() {
			valid, bad = validDay, BadDate
		}
		if (from != "" && !valid(from)) || (to != "" && !valid(to)) {
			return nil, bad, 0
		}
		item.From, item.To = from, to
		switch {
		case from != "" && to != "" && from > to:
			return nil, MonthsReversed, 0
		case from != "" && to != "":
			item.Value = from + " to " + to
		case from != "":
			item.Value = "from " + from
		case to != "":
			item.Value = "until " + to
		}
	case File:
		item.Values = append([]string(nil), files...)
		item.Value = strings.Join(files, "; ")
	}
	if item.Value == "" {
		return nil, -1, 0
	}
	return item, -1, 0
}
