package server

import (
	"net/url"
	"strings"
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

func TestChoicesAreReadLineByLine(t *testing.T) {
	for _, c := range []struct {
		name string
		in   map[string]string
		want string // value=lang:label,… ; … or the error's start
	}{
		{"English lines are the values, translations line up", map[string]string{"en": "Yes\r\nNo \n\n", "pl": "Tak\nNie"}, "Yes=pl:Tak; No=pl:Nie"},
		{"an empty translation line leaves that choice untranslated", map[string]string{"en": "A\nB\nC", "cy": "\nBe"}, "A; B=cy:Be; C"},
		{"an empty English line is skipped with its translations", map[string]string{"en": "A\n\nC", "pl": "a\n\nc"}, "A=pl:a; C=pl:c"},
		{"no English lines: no choices", map[string]string{"pl": "a"}, ""},
		{"more translations than English lines", map[string]string{"en": "A", "pl": "a\nb"}, "error: the Polski choices have more lines"},
		{"a translation of an empty English line", map[string]string{"en": "A\n\nC", "ar": "\nب"}, "error: line 2 of the العربية choices"},
	} {
		t.Run(c.name, func(t *testing.T) {
			choices, err := choicesOf(c.in)
			var got []string
			for _, ch := range choices {
				s := ch.Value
				for _, l := range []string{"cy", "pl", "ar"} {
					if v := ch.Label[l]; v != "" {
						s += "=" + l + ":" + v
					}
				}
				got = append(got, s)
			}
			g := strings.Join(got, "; ")
			if err != nil {
				g = "error: " + err.Error()
			}
			if !strings.HasPrefix(g, c.want) || (c.want == "" && g != "") {
				t.Errorf("got %q, want %q", g, c.want)
			}
		})
	}
}
