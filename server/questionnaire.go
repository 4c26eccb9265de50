package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// Which questionnaire a report is asked. A channel asks the newest version
// of its own questionnaire, or the built-in default if its administrators
// never stored one. A report form names the version it shows ("ref", a
// hidden field), so that an edit made while a reporter goes through the
// steps changes nothing of their form: every later page and the report
// itself use that exact version, and the case records it.

// questionnaireCache holds parsed stored questionnaires by Ref. Stored
// versions never change, so an entry never goes stale; the cache is
// emptied when it grows past a bound, as versions are made by hand.
type questionnaireCache struct {
	mu sync.Mutex
	m  map[string]*frontend.Questionnaire
}

const maxCachedQuestionnaires = 256

// errQuestionnaireUnknown answers a form that names a questionnaire the
// channel does not have (a tampered form, or one of another channel).
var errQuestionnaireUnknown = &userError{status: http.StatusBadRequest, title: "The submission could not be read",
	message: []phrase{say("The form's questions are not those of the place your report is for."),
		say("Nothing was saved. Please go back and try again.")}, back: "/report"}

// questionnaireFor returns the questionnaire a new report to the channel
// is asked: its newest stored version, or the built-in default.
func (s *Server) questionnaireFor(ctx context.Context, channel int64) (*frontend.Questionnaire, error) {
	sq, err := s.db.Questionnaire(ctx, channel)
	if errors.Is(err, storage.ErrNotFound) {
		return s.defaultQuestionnaire, nil
	}
	if err != nil {
		return nil, err
	}
	return s.parseStoredQuestionnaire(sq)
}

// questionnaireByRef returns the version ref names ("police-conduct@1",
// the built-in default, or "channel-<id>@<version>" of this channel
// only); errQuestionnaireUnknown for anything else.
func (s *Server) questionnaireByRef(ctx context.Context, channel int64, ref string) (*frontend.Questionnaire, error) {
	if ref == s.defaultQuestionnaire.Ref() {
		return s.defaultQuestionnaire, nil
	}
	id, v, ok := strings.Cut(ref, "@")
	n, err := strconv.Atoi(v)
	if !ok || id != channelQuestionnaireID(channel) || err != nil || n < 1 || strconv.Itoa(n) != v {
		return nil, errQuestionnaireUnknown
	}
	sq, err := s.db.QuestionnaireVersion(ctx, channel, n)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errQuestionnaireUnknown
	}
	if err != nil {
		return nil, err
	}
	return s.parseStoredQuestionnaire(sq)
}

// channelQuestionnaireID is the ID of a channel's own questionnaire.
func channelQuestionnaireID(channel int64) string { return "channel-" + strconv.FormatInt(channel, 10) }

func (s *Server) parseStoredQuestionnaire(sq storage.StoredQuestionnaire) (*frontend.Questionnaire, error) {
	id := channelQuestionnaireID(sq.ChannelID)
	ref := fmt.Sprintf("%s@%d", id, sq.Version)
	c := &s.questionnaires
	c.mu.Lock()
	qn := c.m[ref]
	c.mu.Unlock()
	if qn != nil {
		return qn, nil
	}
	qn, err := frontend.ParseQuestionnaire(id, sq.Version, sq.Definition)
	if err != nil {
		// Definitions are checked when saved: this one was not, or the
		// rules changed since.
		return nil, fmt.Errorf("stored questionnaire %s cannot be used: %w", ref, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedQuestionnaires {
		c.m = map[string]*frontend.Questionnaire{}
	}
	c.m[ref] = qn
	c.mu.Unlock()
	return qn, nil
}

// answerParts bounds the form parts a questionnaire's answers may take: a
// field for each question (two for a date range; one per choice of a
// multiple choice; the empty part of a file input).
func answerParts(qn *frontend.Questionnaire) int {
	if qn == nil {
		return 0
	}
	n := 0
	for _, q := range qn.Questions() {
		switch q.Type {
		case frontend.MultiChoice:
			n += len(q.Choices)
		case frontend.DateRange, frontend.MonthRange:
			n += 2
		default:
			n++
		}
	}
	return n
}

// maxAnswerParts and maxAnswerFieldBytes bound the answers a form of any
// questionnaire may send: where its questionnaire is not known, a form is
// read within these.
var (
	maxAnswerParts      = frontend.MaxQuestions * 4
	maxAnswerFieldBytes = frontend.Question{Type: frontend.LongText}.MaxFieldBytes()
)

// questionOfField returns the question of qn a form field answers, or nil.
func questionOfField(qn *frontend.Questionnaire, name string) *frontend.Question {
	if qn == nil || !strings.HasPrefix(name, "q_") {
		return nil
	}
	for _, q := range qn.Questions() {
		for _, f := range q.FieldNames() {
			if f == name {
				return q
			}
		}
	}
	return nil
}
