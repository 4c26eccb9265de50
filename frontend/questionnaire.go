package frontend

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Intake questions. A Questionnaire is a fixed, versioned list of questions
// asked on the report form, all of them optional. Its answers travel inside
// the report's encrypted first message, each with the English label it was
// asked with, so a case reads as it was asked even after the wording
// changes: a change of wording or choices is a new Version.
//
// This slice has one questionnaire, defined here in code; channels choosing
// or editing their own, and steps, come later. Labels, help texts and
// choices are shown through the message catalogues: their keys are
// "q.<questionnaire>.<question>.label" and ".help", and each choice's Key.

// Question types.
const (
	ShortText  = "short_text"  // one line, at most MaxShortText characters
	LongText   = "long_text"   // several lines, at most MaxLongText characters
	Choice     = "choice"      // one of Choices, by its Value
	MonthRange = "month_range" // two months, YYYY-MM, from ≤ to; either may be empty
)

// Limits on answers, in characters.
const (
	MaxShortText = 200
	MaxLongText  = 5000
)

// A Questionnaire is a versioned list of questions.
type Questionnaire struct {
	ID        string
	Version   int
	Questions []Question
}

// A Question is one question of a questionnaire. Label and Help are its
// English wording, which is also what the catalogue's "en" holds under
// LabelKey and HelpKey (TestQuestionnaireIsTranslated).
type Question struct {
	ID      string
	Type    string
	Label   string
	Help    string
	Choices []QuestionChoice
	// prefix is "q.<questionnaire>.<question>".
	prefix string
}

// A QuestionChoice is one answer of a Choice question: Value is its
// English text, stored in the answer; Key its catalogue key.
type QuestionChoice struct {
	Value string
	Key   string
}

// LabelKey is the catalogue key of the question's label.
func (q Question) LabelKey() string { return q.prefix + ".label" }

// HelpKey is the catalogue key of the question's help text.
func (q Question) HelpKey() string { return q.prefix + ".help" }

var (
	yesNoNotSure = []QuestionChoice{{"Yes", "q.choice.yes"}, {"No", "q.choice.no"}, {"Not sure", "q.choice.not_sure"}}
)

// PoliceConduct is the default questionnaire, for reports of police
// conduct (messages in a group chat, for one).
var PoliceConduct = newQuestionnaire("police-conduct", 1, []Question{
	{ID: "force", Type: ShortText, Label: "Which police force is this about?",
		Help: "Its name is enough."},
	{ID: "place", Type: ShortText, Label: "Where did it happen? (a station, unit or team; leave out anything that points to you)",
		Help: "A general place is enough."},
	{ID: "when", Type: MonthRange, Label: "When did it happen, roughly?",
		Help: "Year and month, for example 2024-03. You can give one month or both."},
	{ID: "platform", Type: Choice, Label: "Where were the messages posted?",
		Help: "Choose the one that fits best.",
		Choices: []QuestionChoice{{"WhatsApp", "q.choice.whatsapp"}, {"Facebook or Messenger", "q.choice.facebook"},
			{"Microsoft Teams", "q.choice.teams"}, {"Snapchat", "q.choice.snapchat"}, {"Telegram", "q.choice.telegram"},
			{"Signal", "q.choice.signal"}, {"Other", "q.choice.other"}}},
	{ID: "people", Type: LongText, Label: "Who was involved? Their role or rank is enough; you do not have to name anyone.",
		Help: "Only write what you are comfortable sharing."},
	{ID: "how_known", Type: Choice, Label: "How do you know about it?",
		Help: "Choose the one that fits best.",
		Choices: []QuestionChoice{{"I am in the group or chat", "q.choice.in_group"}, {"Someone showed me", "q.choice.shown"},
			{"Other", "q.choice.other"}}},
	{ID: "reported_elsewhere", Type: Choice, Label: "Have you reported this anywhere else?",
		Help: "For example, to a manager or to professional standards.", Choices: yesNoNotSure},
	{ID: "traced", Type: Choice, Label: "Could this report be traced back to you?",
		Help: "For example, because only a few people saw the messages. This helps us protect you.", Choices: yesNoNotSure},
	{ID: "others_saw", Type: LongText, Label: "Who else saw the messages?",
		Help: "Roles or ranks are enough."},
	{ID: "group_size", Type: Choice, Label: "About how many people are in the group?",
		Help: "A guess is fine.",
		Choices: []QuestionChoice{{"Fewer than 5", "q.choice.lt5"}, {"5 to 20", "q.choice.5to20"},
			{"More than 20", "q.choice.gt20"}, {"I don't know", "q.choice.dont_know"}}},
})

func newQuestionnaire(id string, version int, qs []Question) *Questionnaire {
	for i := range qs {
		qs[i].prefix = "q." + id + "." + qs[i].ID
	}
	return &Questionnaire{ID: id, Version: version, Questions: qs}
}

// Question returns the question with the given id, or nil.
func (qn *Questionnaire) Question(id string) *Question {
	for i := range qn.Questions {
		if qn.Questions[i].ID == id {
			return &qn.Questions[i]
		}
	}
	return nil
}

// FieldNames are the form fields of a question: "q_<id>", or for a
// MonthRange "q_<id>_from" and "q_<id>_to".
func (q Question) FieldNames() []string {
	if q.Type == MonthRange {
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
	}
	return 256
}

// An AnswerItem is one question answered: its id, English label and value
// (a choice's English value; a month range as "2024-03 to 2024-05").
type AnswerItem struct {
	ID, Label, Value string
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
	BadMonth
	MonthsReversed
)

var month = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// Normalize makes a text answer's line ends "\n" and trims its space.
func Normalize(v string) string {
	return strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
}

// Check validates raw form values (by field name, normalised) and returns
// the answered questions in the questionnaire's order. Empty answers are
// left out. The first wrong answer is returned as a problem, and no items.
func (qn *Questionnaire) Check(raw map[string]string) ([]AnswerItem, *AnswerProblem) {
	var items []AnswerItem
	for i := range qn.Questions {
		q := &qn.Questions[i]
		bad := func(kind ProblemKind) ([]AnswerItem, *AnswerProblem) {
			return nil, &AnswerProblem{Question: q, Kind: kind}
		}
		names := q.FieldNames()
		for _, n := range names {
			if !utf8.ValidString(raw[n]) {
				return bad(Unreadable)
			}
		}
		v := raw[names[0]]
		var value string
		switch q.Type {
		case ShortText, LongText:
			limit := MaxShortText
			if q.Type == LongText {
				limit = MaxLongText
			}
			if utf8.RuneCountInString(v) > limit {
				return nil, &AnswerProblem{Question: q, Kind: TooLong, Limit: limit}
			}
			for _, r := range v {
				if (unicode.IsControl(r) && (q.Type == ShortText || r != '\n' && r != '\t')) || r == utf8.RuneError {
					return bad(BadCharacters)
				}
			}
			value = v
		case Choice:
			if v == "" {
				break
			}
			ok := false
			for _, c := range q.Choices {
				ok = ok || c.Value == v
			}
			if !ok {
				return bad(NotAChoice)
			}
			value = v
		case MonthRange:
			from, to := raw[names[0]], raw[names[1]]
			if (from != "" && !month.MatchString(from)) || (to != "" && !month.MatchString(to)) {
				return bad(BadMonth)
			}
			switch {
			case from != "" && to != "" && from > to:
				return bad(MonthsReversed)
			case from != "" && to != "":
				value = from + " to " + to
			case from != "":
				value = "from " + from
			case to != "":
				value = "until " + to
			}
		}
		if value != "" {
			items = append(items, AnswerItem{ID: q.ID, Label: q.Label, Value: value})
		}
	}
	return items, nil
}
