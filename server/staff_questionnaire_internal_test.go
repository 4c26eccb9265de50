package server

import (
	"net/url"
	"testing"
)

// FuzzDraft feeds the editor's draft code any form and any action: it
// must answer (a draft, or an error) and never panic, whatever an
// administrator's browser, or someone holding their session, sends.
func FuzzDraft(f *testing.F) {
	f.Add("steps=2&s0_questions=1&s0_q0_id=a&s0_q0_type=choice&s0_q0_label_en=A&s0_q0_choices_en=x%0Ay&s0_q0_choices_pl=%0Aigrek"+
		"&s1_questions=1&s1_when=a&s1_values=a:y&s1_values=b:z&s1_q0_id=b&s1_q0_type=date_range&s1_q0_precision=day&s1_q0_label_en=B", "down:0:0")
	f.Add("steps=1&s0_questions=2&s0_q1_type=yes_no", "up:0:1")
	f.Add("steps=3&s2_questions=1&s2_when=:&s2_values=:", "remove-step:1")
	f.Add("steps=10&base=7", "add-step")
	f.Add("steps=1&s0_questions=1&s0_q0_type=multi_choice&s0_q0_choices_cy=a%0Ab%0Ac", "add-question:0")
	f.Add("steps=-1", "remove-question:9:9")
	f.Fuzz(func(t *testing.T, query, action string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		d, err := draftFrom(form)
		if err != nil {
			return
		}
		d.view()
		d.apply(action)
		d.view()
		if qn, err := d.questionnaire(1); err == nil {
			qn.Validate()
		}
	})
}
