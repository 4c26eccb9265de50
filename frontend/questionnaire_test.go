package frontend_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/candour/candour/frontend"
)

func TestQuestionnaireCheck(t *testing.T) {
	t.Parallel()
	qn := frontend.PoliceConduct
	if qn.ID != "police-conduct" || qn.Version != 1 || len(qn.Questions) != 10 {
		t.Fatalf("questionnaire %s v%d with %d questions", qn.ID, qn.Version, len(qn.Questions))
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
			want: []frontend.AnswerItem{{ID: "force", Label: "Which police force is this about?", Value: "Kent"},
				{ID: "when", Label: "When did it happen, roughly?", Value: "until 2024-05"},
				{ID: "group_size", Label: "About how many people are in the group?", Value: "I don't know"}}},
		{name: "a month range is written from and to", raw: map[string]string{"q_when_from": "2024-03", "q_when_to": "2024-03"},
			want: []frontend.AnswerItem{{ID: "when", Label: "When did it happen, roughly?", Value: "2024-03 to 2024-03"}}},
		{name: "a long answer keeps its lines", raw: map[string]string{"q_people": "a\nb\tc"},
			want: []frontend.AnswerItem{{ID: "people", Label: "Who was involved? Their role or rank is enough; you do not have to name anyone.", Value: "a\nb\tc"}}},
		{name: "a choice not offered is refused", raw: map[string]string{"q_traced": "yes"}, kind: frontend.NotAChoice, bad: "traced"},
		{name: "a month 13 is refused", raw: map[string]string{"q_when_from": "2024-13"}, kind: frontend.BadMonth, bad: "when"},
		{name: "a date is not a month", raw: map[string]string{"q_when_to": "2024-03-01"}, kind: frontend.BadMonth, bad: "when"},
		{name: "months the wrong way round are refused", raw: map[string]string{"q_when_from": "2024-04", "q_when_to": "2023-04"}, kind: frontend.MonthsReversed, bad: "when"},
		{name: "a short answer of 201 characters is refused", raw: map[string]string{"q_place": strings.Repeat("é", 201)}, kind: frontend.TooLong, bad: "place"},
		{name: "a short answer of 200 characters is taken", raw: map[string]string{"q_place": strings.Repeat("é", 200)},
			want: []frontend.AnswerItem{{ID: "place", Label: frontend.PoliceConduct.Question("place").Label, Value: strings.Repeat("é", 200)}}},
		{name: "a long answer of 5001 characters is refused", raw: map[string]string{"q_others_saw": strings.Repeat("x", 5001)}, kind: frontend.TooLong, bad: "others_saw"},
		{name: "a line break in a short answer is refused", raw: map[string]string{"q_force": "a\nb"}, kind: frontend.BadCharacters, bad: "force"},
		{name: "invalid UTF-8 is refused", raw: map[string]string{"q_force": "a\xffb"}, kind: frontend.Unreadable, bad: "force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, problem := qn.Check(tc.raw)
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
