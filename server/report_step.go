package server

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
)

// The steps of a questionnaire, with JavaScript off. Each step before the
// last is a small urlencoded form posted here, carrying the channel, the
// form's one-time token, the questionnaire version (so that an edit made
// meanwhile changes nothing of this form), the step's index and answers,
// and as hidden fields the answers of every other step; nothing of it is
// stored. "Next" checks the step's answers (the same step again, with
// the problem named, if one is wrong) and shows the next step asked;
// "Back" shows the step before, keeping the answers unchecked. The last
// step is the report form (POST /report), whose "Back" posts here without
// its files, which are named to be chosen again.

// stepFormPath is where the steps are posted.
const stepFormPath = "/report/step"

// maxStepAnswerBytes bounds the answers on a step page, urlencoded; the
// report's text, carried too once the reporter has reached the last page,
// has its own allowance (stepFormLimit).
const maxStepAnswerBytes = 1 << 20

// stepFormLimit is the most bytes a step form may have: the answers, and
// the text percent-encoded (three bytes for each, with "\r\n" line ends).
func (s *Server) stepFormLimit() int64 {
	return maxStepAnswerBytes + 3*2*int64(utf8.UTFMax)*int64(s.cfg.MaxTextChars)
}

// maxStepFields bounds the fields of a step form before its questionnaire
// is known: its answers, its files' names and a few fields.
func (s *Server) maxStepFields() int { return maxAnswerParts*8 + s.cfg.MaxFiles*3 + 16 }

var errStepForm = badUpload(say("The form could not be read."))

// handleReportStep answers POST /report/step: the next (or, with "Back",
// the previous) page of a report form of several steps.
func (s *Server) handleReportStep(c *fiber.Ctx) error {
	select {
	case s.steps <- struct{}{}:
		defer func() { <-s.steps }()
	default:
		return errBusy
	}
	v, err := s.readStepForm(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	open, err := s.openChannels(ctx)
	if err != nil {
		return err
	}
	ch := findChannel(open, v.Get("channel"))
	if ch == nil && v.Get("channel") == "" && len(open) == 1 {
		ch = &open[0]
	}
	if ch == nil {
		return errChannelUnknown
	}
	lang := languageOf(c).Tag
	view := viewChannel(*ch, lang)
	qn, err := s.questionnaireOfForm(ctx, ch.ID, v.Get("questionnaire"))
	if err != nil {
		return err
	}
	if len(v) > answerParts(qn)+16 {
		return errStepForm
	}
	step, err := strconv.Atoi(v.Get("step"))
	if err != nil || step < 0 || step > qn.Last() || strconv.Itoa(step) != v.Get("step") {
		return errStepForm
	}
	st := reportState{qn: qn, channel: &view, keep: v.Get("keep_originals") == "yes"}
	if tok := v.Get(formTokenField); tok != "" {
		if _, ok := formTokenHash(tok); !ok {
			return errStepForm
		}
		st.form = tok
	} else {
		st.form = newFormToken()
	}
	// The text, if the last page was reached; the files to choose again:
	// names carried from an earlier step, and those a file input sends as
	// its value when the last page posts here without its files.
	text, _ := cutAnswer(strings.ToValidUTF8(v.Get("body"), ""), utf8.UTFMax*2*s.cfg.MaxTextChars)
	st.text = text
	names := v["kept_file"]
	for _, q := range qn.Questions() {
		if q.Type == frontend.File {
			names = append(names, v[q.FieldNames()[0]]...)
		}
	}
	names = append(names, v["attachments"]...)
	for _, n := range names {
		if strings.TrimSpace(n) != "" && len(st.files) < s.cfg.MaxFiles {
			st.files = append(st.files, crypto.CleanAttachmentName(n))
		}
	}
	// The identity section's values, if the last page was reached, each
	// within its bound (cut, as answers of other steps are: the last page
	// checks them again).
	for name, limit := range identityFieldLimits {
		if x := v.Get(name); x != "" {
			if st.person == nil {
				st.person = &identityFields{}
			}
			x, _ = cutAnswer(x, utf8.UTFMax*limit)
			switch name {
			case "id_name":
				st.person.Name = x
			case "id_contact":
				st.person.Contact = x
			case "id_role":
				st.person.Role = x
			}
		}
	}
	// The answers, each within its question's bounds; a value over them
	// is cut, and if it is this step's, said to be too long.
	st.raw = frontend.Answers{}
	var overlong *frontend.Question
	for _, q := range qn.Questions() {
		if q.Type == frontend.File {
			continue
		}
		for _, name := range q.FieldNames() {
			for _, x := range v[name] {
				x, over := cutAnswer(x, q.MaxFieldBytes())
				if over && overlong == nil && qn.StepOf(q.ID) == step {
					overlong = q
				}
				st.raw[name] = append(st.raw[name], x)
			}
		}
	}

	if v.Get("nav") == "back" {
		to := qn.Previous(step, st.raw)
		if to < 0 {
			to = step
		}
		return s.render(c, http.StatusOK, "report", "Make a report", s.reportPage(c, st, to, nil))
	}
	problem := qn.CheckStep(step, st.raw)
	if overlong != nil {
		problem = &frontend.AnswerProblem{Question: overlong, Kind: frontend.TooLong, Limit: overlong.MaxChars()}
	}
	if problem != nil {
		s.refused(refusedMalformed)
		form := s.reportPage(c, st, step, problem)
		form.ErrorMore = s.translate(c, say("Your answers are below: please correct that answer and go on."))
		return s.render(c, http.StatusBadRequest, "report", "Make a report", form)
	}
	to := qn.Next(step, st.raw)
	if to < 0 {
		to = qn.Last()
	}
	return s.render(c, http.StatusOK, "report", "Make a report", s.reportPage(c, st, to, nil))
}

// readStepForm reads a step form, within stepFormLimit and maxStepFields.
func (s *Server) readStepForm(c *fiber.Ctx) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, badUpload(say("The form was not sent as expected."))
	}
	limit := s.stepFormLimit()
	if int64(c.Request().Header.ContentLength()) > limit {
		return nil, badUpload(say("The form was larger than expected."))
	}
	b, err := io.ReadAll(io.LimitReader(bodyStream(c), limit+1))
	if err != nil {
		return nil, errStepForm
	}
	if int64(len(b)) > limit {
		return nil, badUpload(say("The form was larger than expected."))
	}
	if bytes.Count(b, []byte("&")) >= s.maxStepFields() {
		return nil, errStepForm
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, errStepForm
	}
	return v, nil
}
