package frontend_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/candour/candour/frontend"
)

func TestQuestionnaireCheck(t *testing.T) {
	t.Parallel()
	qn := defaultQuestionnaire(t)
	if qn.ID != "police-conduct" || qn.Version != 1 || len(qn.Questions()) != 10 || qn.Ref() != "police-conduct@1" {
		t.Fatalf("questionnaire %s v%d with %d questions", qn.ID, qn.Version, len(qn.Questions()))
	}
	if err := qn.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		raw  map[string]string
		want []frontend.AnswerItem
		kind frontend.ProblemKind
		bad  string // the question named, if refused
	}{
		{name: "nothing answered is no answers", raw: map[string]string{}},
		{name: "empty answers are left out", raw: map[string]string{"q_force": "", "q_platform": "", "q_when_from": ""}},
		{name: "answers come in the questionnaire's order with English labels",
			raw: map[string]string{"q_group_size": "I don't know", "q_force": "Kent", "q_when_to": "2024-05"},
			want: []frontend.AnswerItem{{ID: "force", Type: "short_text", Label: "Which police force is this about?", Value: "Kent"},
				{ID: "when", Type: "date_range", Label: "When did it happen, roughly?", Value: "until 2024-05", To: "2024-05"},
				{ID: "group_size", Type: "choice", Label: "About how many people are in the group?", Value: "I don't know"}}},
		{name: "a month range is written from and to", raw: map[string]string{"q_when_from": "2024-03", "q_when_to": "2024-03"},
			want: []frontend.AnswerItem{{ID: "when", Type: "date_range", Label: "When did it happen, roughly?", Value: "2024-03 to 2024-03", From: "2024-03", To: "2024-03"}}},
		{name: "a long answer keeps its lines", raw: map[string]string{"q_people": "a\nb\tc"},
			want: []frontend.AnswerItem{{ID: "people", Type: "long_text", Label: "Who was involved? Their role or rank is enough; you do not have to name anyone.", Value: "a\nb\tc"}}},
		{name: "a choice not offered is refused", raw: map[string]string{"q_traced": "yes"}, kind: frontend.NotAChoice, bad: "traced"},
		{name: "a month 13 is refused", raw: map[string]string{"q_when_from": "2024-13"}, kind: frontend.BadMonth, bad: "when"},
		{name: "a date is not a month", raw: map[string]string{"q_when_to": "2024-03-01"}, kind: frontend.BadMonth, bad: "when"},
		{name: "months the wrong way round are refused", raw: map[string]string{"q_when_from": "2024-04", "q_when_to": "2023-04"}, kind: frontend.MonthsReversed, bad: "when"},
		{name: "a short answer of 201 characters is refused", raw: map[string]string{"q_place": strings.Repeat("é", 201)}, kind: frontend.TooLong, bad: "place"},
		{name: "a short answer of 200 characters is taken", raw: map[string]string{"q_place": strings.Repeat("é", 200)},
			want: []frontend.AnswerItem{{ID: "place", Type: "short_text", Label: qn.Question("place").Label["en"], Value: strings.Repeat("é", 200)}}},
		{name: "a long answer of 5001 characters is refused", raw: map[string]string{"q_others_saw": strings.Repeat("x", 5001)}, kind: frontend.TooLong, bad: "others_saw"},
		{name: "a line break in a short answer is refused", raw: map[string]string{"q_force": "a\nb"}, kind: frontend.BadCharacters, bad: "force"},
		{name: "invalid UTF-8 is refused", raw: map[string]string{"q_force": "a\xffb"}, kind: frontend.Unreadable, bad: "force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, problem := qn.Check(values(tc.raw), nil)
			if tc.bad != "" {
				if problem == nil || problem.Question.ID != tc.bad || problem.Kind != tc.kind || got != nil {
					t.Fatalf("got %v, problem %+v; want %s refused (kind %d)", got, problem, tc.bad, tc.kind)
				}
				return
			}
			if problem != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, problem %+v; want %+v", got, problem, tc.want)
			}
		})
	}
}

func defaultQuestionnaire(t *testing.T) *frontend.Questionnaire {
	t.Helper()
	cat, err := frontend.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	return frontend.DefaultQuestionnaire(cat)
}

func values(raw map[string]string) frontend.Answers {
	out := frontend.Answers{}
	for k, v := range raw {
		out[k] = []string{v}
	}
	return out
}

// The built-in questionnaire carries the catalogues' translations, and
// survives being stored as JSON and read back.
func TestDefaultQuestionnaireRoundTrips(t *testing.T) {
	t.Parallel()
	qn := defaultQuestionnaire(t)
	if got := qn.Question("platform").Choices[0].Label.In("cy"); got == "" {
		t.Fatal("no Welsh for the first platform")
	}
	if got := qn.Question("force").Label.In("pl"); got == qn.Question("force").Label["en"] || got == "" {
		t.Fatalf("force in Polish is %q", got)
	}
	if got := qn.Question("force").Label.In("xx"); got != "Which police force is this about?" {
		t.Fatalf("fallback is %q", got)
	}
	var inInbox []string
	for _, q := range qn.Questions() {
		if q.Summary {
			inInbox = append(inInbox, q.ID)
		}
	}
	if strings.Join(inInbox, ",") != "force,platform" {
		t.Errorf("the inbox shows the answers to %v, want force and platform", inInbox)
	}
	def, err := qn.Definition()
	if err != nil {
		t.Fatal(err)
	}
	back, err := frontend.ParseQuestionnaire("channel-2", 3, def)
	if err != nil {
		t.Fatal(err)
	}
	if back.Ref() != "channel-2@3" || !reflect.DeepEqual(back.Steps, qn.Steps) {
		t.Fatalf("round trip changed the questionnaire: %s", back.Ref())
	}
}

// every is a questionnaire with one question of every type, in three
// steps, the second asked only when the first step's "seen" is Yes.
const every = `{"steps": [
 {"title": {"en": "About you"}, "questions": [
  {"id": "seen", "type": "yes_no", "required": true, "label": {"en": "Did you see it?", "cy": "Welsh?"}},
  {"id": "apps", "type": "multi_choice", "label": {"en": "Which apps?"}, "choices": [
    {"value": "WhatsApp", "label": {"en": "WhatsApp"}}, {"value": "Teams", "label": {"en": "Teams", "pl": "Teams PL"}}]}]},
 {"title": {"en": "What you saw"}, "when": {"question": "seen", "values": ["Yes"]}, "questions": [
  {"id": "day", "type": "date", "required": true, "label": {"en": "Which day?"}},
  {"id": "span", "type": "date_range", "precision": "day", "label": {"en": "Between which days?"}},
  {"id": "kind", "type": "choice", "label": {"en": "Kind"}, "choices": [{"value": "Joke", "label": {"en": "Joke"}}]}]},
 {"questions": [
  {"id": "name", "type": "short_text", "label": {"en": "Short"}},
  {"id": "story", "type": "long_text", "label": {"en": "Long"}},
  {"id": "proof", "type": "file", "required": true, "label": {"en": "Screenshots"}}]}]}`

func TestEveryQuestionType(t *testing.T) {
	t.Parallel()
	qn, err := frontend.ParseQuestionnaire("channel-1", 1, []byte(every))
	if err != nil {
		t.Fatal(err)
	}
	yes := frontend.Answers{"q_seen": {"Yes"}, "q_apps": {"Teams", "WhatsApp", "Teams"}, "q_day": {"2024-02-29"},
		"q_span_from": {"2024-02-01"}, "q_span_to": {"2024-02-29"}, "q_kind": {"Joke"}, "q_name": {"x"}, "q_story": {"a\nb"}}
	if qn.Next(-1, yes) != 0 || qn.Next(0, yes) != 1 || qn.Next(1, yes) != 2 || qn.Next(2, yes) != -1 || qn.Previous(2, yes) != 1 {
		t.Fatal("steps in the wrong order when the second is asked")
	}
	got, problem := qn.Check(yes, map[string][]string{"proof": {"a.png", "b.pdf"}})
	if problem != nil {
		t.Fatalf("problem %+v", problem)
	}
	want := []frontend.AnswerItem{
		{ID: "seen", Type: "yes_no", Label: "Did you see it?", Value: "Yes"},
		{ID: "apps", Type: "multi_choice", Label: "Which apps?", Value: "WhatsApp; Teams", Values: []string{"WhatsApp", "Teams"}},
		{ID: "day", Type: "date", Label: "Which day?", Value: "2024-02-29"},
		{ID: "span", Type: "date_range", Label: "Between which days?", Value: "2024-02-01 to 2024-02-29", From: "2024-02-01", To: "2024-02-29"},
		{ID: "kind", Type: "choice", Label: "Kind", Value: "Joke"},
		{ID: "name", Type: "short_text", Label: "Short", Value: "x"},
		{ID: "story", Type: "long_text", Label: "Long", Value: "a\nb"},
		{ID: "proof", Type: "file", Label: "Screenshots", Value: "a.png; b.pdf", Values: []string{"a.png", "b.pdf"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// "No" skips the second step: its answers, even a wrong one, are dropped.
	no := frontend.Answers{"q_seen": {"No"}, "q_day": {"not a day"}}
	if qn.Next(0, no) != 2 || qn.Previous(2, no) != 0 {
		t.Fatal("the second step is asked after No")
	}
	got, problem = qn.Check(no, map[string][]string{"proof": {"a.png"}})
	if problem != nil || len(got) != 2 || got[1].ID != "proof" {
		t.Fatalf("got %+v, problem %+v", got, problem)
	}
	for _, tc := range []struct {
		name  string
		raw   frontend.Answers
		files []string
		bad   string
		kind  frontend.ProblemKind
	}{
		{"a required yes/no unanswered", frontend.Answers{}, []string{"a"}, "seen", frontend.Missing},
		{"a yes/no that is neither", frontend.Answers{"q_seen": {"Maybe"}}, []string{"a"}, "seen", frontend.NotAChoice},
		{"a multiple choice not offered", frontend.Answers{"q_seen": {"No"}, "q_apps": {"Signal"}}, []string{"a"}, "apps", frontend.NotAChoice},
		{"a required date in an asked step", frontend.Answers{"q_seen": {"Yes"}}, []string{"a"}, "day", frontend.Missing},
		{"the 30th of February", frontend.Answers{"q_seen": {"Yes"}, "q_day": {"2023-02-30"}}, []string{"a"}, "day", frontend.BadDate},
		{"29 February outside a leap year", frontend.Answers{"q_seen": {"Yes"}, "q_day": {"2023-02-29"}}, []string{"a"}, "day", frontend.BadDate},
		{"a month where a day is asked", frontend.Answers{"q_seen": {"Yes"}, "q_day": {"2024-01-01"}, "q_span_from": {"2024-01"}}, []string{"a"}, "span", frontend.BadDate},
		{"days reversed", frontend.Answers{"q_seen": {"Yes"}, "q_day": {"2024-01-01"}, "q_span_from": {"2024-01-02"}, "q_span_to": {"2024-01-01"}}, []string{"a"}, "span", frontend.MonthsReversed},
		{"a choice sent twice", frontend.Answers{"q_seen": {"Yes", "No"}}, []string{"a"}, "seen", frontend.Unreadable},
		{"a required file question without a file", frontend.Answers{"q_seen": {"No"}}, nil, "proof", frontend.Missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, problem := qn.Check(tc.raw, map[string][]string{"proof": tc.files})
			if problem == nil || problem.Question.ID != tc.bad || problem.Kind != tc.kind || got != nil {
				t.Fatalf("got %+v, problem %+v; want %s refused (kind %d)", got, problem, tc.bad, tc.kind)
			}
		})
	}
	// One step at a time: the last step's files are not asked for yet.
	if p := qn.CheckStep(0, frontend.Answers{}); p == nil || p.Question.ID != "seen" || p.Kind != frontend.Missing {
		t.Fatalf("step 1 unanswered: %+v", p)
	}
	if p := qn.CheckStep(2, frontend.Answers{}); p != nil {
		t.Fatalf("the last step before its files: %+v", p)
	}
}

func TestInvalidDefinitionsAreRefused(t *testing.T) {
	t.Parallel()
	q := func(s string) string { return `{"steps": [{"questions": [` + s + `]}]}` }
	for name, def := range map[string]string{
		"unknown type":                   q(`{"id": "a", "type": "essay", "label": {"en": "A"}}`),
		"no English label":               q(`{"id": "a", "type": "short_text", "label": {"cy": "A"}}`),
		"unknown language":               q(`{"id": "a", "type": "short_text", "label": {"en": "A", "xx": "B"}}`),
		"bad id":                         q(`{"id": "A b", "type": "short_text", "label": {"en": "A"}}`),
		"same id twice":                  q(`{"id": "a", "type": "short_text", "label": {"en": "A"}}, {"id": "a", "type": "long_text", "label": {"en": "B"}}`),
		"choice without choices":         q(`{"id": "a", "type": "choice", "label": {"en": "A"}}`),
		"same choice twice":              q(`{"id": "a", "type": "choice", "label": {"en": "A"}, "choices": [{"value": "x", "label": {"en": "x"}}, {"value": "x", "label": {"en": "x"}}]}`),
		"value not its English":          q(`{"id": "a", "type": "choice", "label": {"en": "A"}, "choices": [{"value": "x", "label": {"en": "y"}}]}`),
		"precision on a date":            q(`{"id": "a", "type": "date", "precision": "day", "label": {"en": "A"}}`),
		"unknown field":                  q(`{"id": "a", "type": "date", "colour": "red", "label": {"en": "A"}}`),
		"control characters":             q(`{"id": "a", "type": "date", "label": {"en": "A\u0007"}}`),
		"file question not last":         `{"steps": [{"questions": [{"id": "a", "type": "file", "label": {"en": "A"}}]}, {"questions": []}]}`,
		"first step conditional":         `{"steps": [{"when": {"question": "a", "values": ["Yes"]}, "questions": []}]}`,
		"condition on a text":            `{"steps": [{"questions": [{"id": "a", "type": "short_text", "label": {"en": "A"}}]}, {"when": {"question": "a", "values": ["x"]}, "questions": []}, {"questions": []}]}`,
		"condition on a later":           `{"steps": [{"questions": []}, {"when": {"question": "b", "values": ["Yes"]}, "questions": []}, {"questions": [{"id": "b", "type": "yes_no", "label": {"en": "B"}}]}]}`,
		"condition on no answer":         `{"steps": [{"questions": [{"id": "a", "type": "yes_no", "label": {"en": "A"}}]}, {"when": {"question": "a", "values": ["Perhaps"]}, "questions": []}, {"questions": []}]}`,
		"last step conditional":          `{"steps": [{"questions": [{"id": "a", "type": "yes_no", "label": {"en": "A"}}]}, {"when": {"question": "a", "values": ["Yes"]}, "questions": []}]}`,
		"trailing data":                  `{"steps": []} {}`,
		"a label too long":               q(`{"id": "a", "type": "date", "label": {"en": "` + strings.Repeat("x", 301) + `"}}`),
		"help without English":           q(`{"id": "a", "type": "date", "label": {"en": "A"}, "help": {"cy": "h"}}`),
		"a long text in the inbox":       q(`{"id": "a", "type": "long_text", "summary": true, "label": {"en": "A"}}`),
		"a multiple choice in the inbox": q(`{"id": "a", "type": "multi_choice", "summary": true, "label": {"en": "A"}, "choices": [{"value": "x", "label": {"en": "x"}}]}`),
		"four answers in the inbox": q(`{"id": "a", "type": "date", "summary": true, "label": {"en": "A"}}, {"id": "b", "type": "date", "summary": true, "label": {"en": "B"}},
			{"id": "c", "type": "yes_no", "summary": true, "label": {"en": "C"}}, {"id": "d", "type": "short_text", "summary": true, "label": {"en": "D"}}`),
	} {
		if _, err := frontend.ParseQuestionnaire("channel-1", 1, []byte(def)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := frontend.ParseQuestionnaire("channel-1", 1, []byte(`{"steps": []}`)); err != nil {
		t.Errorf("an empty questionnaire is refused: %v", err)
	}
	three := q(`{"id": "a", "type": "date", "summary": true, "label": {"en": "A"}}, {"id": "b", "type": "choice", "summary": true, "label": {"en": "B"}, "choices": [{"value": "x", "label": {"en": "x"}}]},
		{"id": "c", "type": "short_text", "summary": true, "label": {"en": "C"}}, {"id": "d", "type": "yes_no", "label": {"en": "D"}}`)
	if _, err := frontend.ParseQuestionnaire("channel-1", 1, []byte(three)); err != nil {
		t.Errorf("three short answers in the inbox are refused: %v", err)
	}
}
