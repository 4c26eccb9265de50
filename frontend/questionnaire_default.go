package frontend

// The built-in questionnaire, for reports of police conduct (messages in
// a group chat, for one): what every channel asks until an administrator
// edits its own. Every question is optional: none may be required that
// could identify the reporter. Its English wording is here; its
// translations are in the message catalogues, under the keys below
// (TestQuestionnaireIsTranslated), so that translators work on it with
// the rest of the reporter's pages.

// DefaultQuestionnaireID and DefaultQuestionnaireVersion name the built-in
// questionnaire. Any change of its wording or choices is a new version.
const (
	DefaultQuestionnaireID      = "police-conduct"
	DefaultQuestionnaireVersion = 1
)

// A BuiltinQuestion is a question of the built-in questionnaire, in
// English, with the catalogue keys of its translations.
type BuiltinQuestion struct {
	ID, Type, Label, Help string
	Precision             string
	Choices               []BuiltinChoice
	// Summary: the answer is shown in the inbox (Question.Summary).
	Summary bool
}

// A BuiltinChoice is one choice of a built-in question: its English
// value and catalogue key.
type BuiltinChoice struct{ Value, Key string }

// LabelKey is the catalogue key of the question's label.
func (q BuiltinQuestion) LabelKey() string {
	return "q." + DefaultQuestionnaireID + "." + q.ID + ".label"
}

// HelpKey is the catalogue key of the question's help text.
func (q BuiltinQuestion) HelpKey() string {
	return "q." + DefaultQuestionnaireID + "." + q.ID + ".help"
}

var yesNoNotSure = []BuiltinChoice{{"Yes", "q.choice.yes"}, {"No", "q.choice.no"}, {"Not sure", "q.choice.not_sure"}}

// PoliceConduct is the built-in questionnaire's one step, in English.
var PoliceConduct = []BuiltinQuestion{
	{ID: "force", Type: ShortText, Label: "Which police force is this about?",
		Help: "Its name is enough.", Summary: true},
	{ID: "place", Type: ShortText, Label: "Where did it happen? (a station, unit or team; leave out anything that points to you)",
		Help: "A general place is enough."},
	{ID: "when", Type: DateRange, Precision: PrecisionMonth, Label: "When did it happen, roughly?",
		Help: "Year and month, for example 2024-03. You can give one month or both."},
	{ID: "platform", Type: Choice, Label: "Where were the messages posted?",
		Help: "Choose the one that fits best.", Summary: true,
		Choices: []BuiltinChoice{{"WhatsApp", "q.choice.whatsapp"}, {"Facebook or Messenger", "q.choice.facebook"},
			{"Microsoft Teams", "q.choice.teams"}, {"Snapchat", "q.choice.snapchat"}, {"Telegram", "q.choice.telegram"},
			{"Signal", "q.choice.signal"}, {"Other", "q.choice.other"}}},
	{ID: "people", Type: LongText, Label: "Who was involved? Their role or rank is enough; you do not have to name anyone.",
		Help: "Only write what you are comfortable sharing."},
	{ID: "how_known", Type: Choice, Label: "How do you know about it?",
		Help: "Choose the one that fits best.",
		Choices: []BuiltinChoice{{"I am in the group or chat", "q.choice.in_group"}, {"Someone showed me", "q.choice.shown"},
			{"Other", "q.choice.other"}}},
	{ID: "reported_elsewhere", Type: Choice, Label: "Have you reported this anywhere else?",
		Help: "For example, to a manager or to professional standards.", Choices: yesNoNotSure},
	{ID: "traced", Type: Choice, Label: "Could this report be traced back to you?",
		Help: "For example, because only a few people saw the messages. This helps us protect you.", Choices: yesNoNotSure},
	{ID: "others_saw", Type: LongText, Label: "Who else saw the messages?",
		Help: "Roles or ranks are enough."},
	{ID: "group_size", Type: Choice, Label: "About how many people are in the group?",
		Help: "A guess is fine.",
		Choices: []BuiltinChoice{{"Fewer than 5", "q.choice.lt5"}, {"5 to 20", "q.choice.5to20"},
			{"More than 20", "q.choice.gt20"}, {"I don't know", "q.choice.dont_know"}}},
}

// DefaultQuestionnaire returns the built-in questionnaire with its
// translations from cat (languages whose catalogue lacks a text fall back
// to English when shown).
func DefaultQuestionnaire(cat *Catalogue) *Questionnaire {
	text := func(en, key string) Text {
		t := Text{DefaultLanguage: en}
		for _, l := range Languages {
			if s := cat.Messages(l.Tag)[key]; s != "" && l.Tag != DefaultLanguage {
				t[l.Tag] = s
			}
		}
		return t
	}
	st := Step{}
	for _, b := range PoliceConduct {
		q := Question{ID: b.ID, Type: b.Type, Precision: b.Precision, Summary: b.Summary,
			Label: text(b.Label, b.LabelKey()), Help: text(b.Help, b.HelpKey())}
		for _, c := range b.Choices {
			q.Choices = append(q.Choices, QuestionChoice{Value: c.Value, Label: text(c.Value, c.Key)})
		}
		st.Questions = append(st.Questions, q)
	}
	return &Questionnaire{ID: DefaultQuestionnaireID, Version: DefaultQuestionnaireVersion, Steps: []Step{st}}
}
