package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
	"github.com/candour/candour/metadata"
)

// upload is what a streamed multipart submission yielded: the text, the
// CSRF token if one was sent, and the attachments already stored (pending)
// as age ciphertext.
// uploadLimits are the limits the reporter pages state next to their
// forms (report, follow-up, case).
type uploadLimits struct {
	MaxTotal int64
	MaxFile  int64
	MaxFiles int
	MaxText  int
	MaxClean int64
}

func (s *Server) limits() uploadLimits {
	return uploadLimits{MaxTotal: s.cfg.MaxUploadBytes, MaxFile: s.cfg.MaxFileBytes,
		MaxFiles: s.cfg.MaxFiles, MaxText: s.cfg.MaxTextChars, MaxClean: s.cfg.MaxCleanBytes}
}

type upload struct {
	text  string
	files []crypto.Attachment
	ids   []int64
	owner string // a random token of this request: only it can link the files
	// keepOriginals: the reporter chose to store files unchanged, hidden
	// data included (as evidence), after being told the risk.
	keepOriginals bool
	// formHash is the hash of the form's one-time token, if it had one.
	formHash []byte
	// claim, for a new report, marks this request as its form's attempt
	// in flight (receipt_kept.go); the handler ends it.
	claim *receiptClaim
	// For a new report: the raw answers to the intake questions, and once
	// checked, the answers to store or what is wrong with them.
	fields  answerFields
	answers *crypto.Answers
	// questionnaire is the one the report was asked: the version its form
	// names (ref), else the channel's newest; known from the first answer,
	// file or the end of the form on (resolveQuestionnaire).
	questionnaire *frontend.Questionnaire
	ref           string
	problem       *frontend.AnswerProblem
	refusedFiles  []string // names of the files read and dropped after a wrong answer
	// identity is the optional identity section (report_identity.go).
	identity identityFields
}

// resolveQuestionnaire settles the channel and the questionnaire of a new
// report, once: from the first answer, file or the end of the form on,
// the questionnaire cannot change.
func (s *Server) resolveQuestionnaire(ctx context.Context, up *upload, pick *channelPick) error {
	if up.questionnaire != nil {
		return nil
	}
	if err := pick.settle(); err != nil {
		return err
	}
	qn, err := s.questionnaireOfForm(ctx, pick.chosen.ID, up.ref)
	if err != nil {
		return err
	}
	up.questionnaire = qn
	return nil
}

// checkAnswers checks the answers before the first file, and before each
// file while they are right, so that a wrong answer stores no file; and
// once more at the end (final). Before the end, a required file question
// still unanswered is no problem: its files may yet come.
func (up *upload) checkAnswers(final bool) {
	if up.problem != nil || up.questionnaire == nil {
		return
	}
	answers, problem := up.fields.check(up.questionnaire, up.filesByQuestion())
	if problem != nil && !final && problem.Kind == frontend.Missing && problem.Question.Type == frontend.File {
		problem = nil
	}
	up.answers, up.problem = answers, problem
}

// filesByQuestion are the names of the files sent for each file question.
func (up *upload) filesByQuestion() map[string][]string {
	var m map[string][]string
	for _, f := range up.files {
		if f.Question != "" {
			if m == nil {
				m = map[string][]string{}
			}
			m[f.Question] = append(m[f.Question], f.Name)
		}
	}
	return m
}

// repeatReceipt is what receiving a report form yields when that form
// made a report already, within receiptKept: its receipt, to show again.
type repeatReceipt struct{ receipt *receipt }

func (*repeatReceipt) Error() string { return "report form sent again: receipt kept" }

// errLimit builds the page for an upload over a limit. Nothing is saved.
// It lists the file limits, not the text's: see errTextLimit.
func (s *Server) errLimit(what phrase) *userError {
	return &userError{status: http.StatusRequestEntityTooLarge, title: "Your submission is too large",
		message: []phrase{what, say("Nothing was saved."),
			say("This service accepts up to %s per file, %d files and %s in total.",
				humanBytes(s.cfg.MaxFileBytes), s.cfg.MaxFiles, humanBytes(s.cfg.MaxUploadBytes)),
			say("You can send further files later as messages on your case.")},
		staff: &staffError{status: http.StatusRequestEntityTooLarge, title: "The upload is too large",
			message: fmt.Sprintf("This service accepts up to %s per file and %s in one request. Nothing was changed.",
				humanBytes(s.cfg.MaxFileBytes), humanBytes(s.cfg.MaxUploadBytes))},
	}
}

// errTextLimit is the page for a text over its limit, which is counted in
// characters. Nothing is saved.
func (s *Server) errTextLimit() *userError {
	return &userError{status: http.StatusRequestEntityTooLarge, title: "Your text is too long",
		message: []phrase{say("Your text is longer than %d characters, the most this service accepts in one report or message.", s.cfg.MaxTextChars),
			say("Nothing was saved."),
			say("Please shorten it, or put the longer account in a document and attach it.")}}
}

func badUpload(what phrase) *userError {
	return &userError{status: http.StatusBadRequest, title: "The submission could not be read",
		message: []phrase{what, say("Nothing was saved. Please go back and try again.")},
		// what is an English phrase (its format is its catalogue key).
		staff: staffBadRequest(what.format, what.args...)}
}

// errHoneypot answers a submission that filled in the hidden field. A
// person who somehow did (a screen reader ignoring aria-hidden) is told what
// to do.
var errHoneypot = &userError{status: http.StatusBadRequest, title: "The submission could not be accepted",
	message: []phrase{say("The form had a field filled in that must stay empty (it is labelled \"Leave this field empty\")."),
		say("Nothing was saved. Please go back, empty it and send again.")}, back: "/report"}

var errCSRF = &userError{status: http.StatusForbidden, title: "The form has expired",
	message: []phrase{say("This form is no longer valid. Nothing was saved. Please open your case again and resend.")}}

var errSubmissionBudget = &userError{status: http.StatusServiceUnavailable, title: "The service is very busy",
	message: []phrase{say("The service is receiving an unusual number of submissions right now, so it is accepting fewer for a few minutes."),
		say("Nothing was saved. Please try again in a few minutes.")}}

// acquireUpload takes one of the bounded upload slots, within the global
// budget of submissions, which every instance on the database shares
// (storage.TakeSubmission). release may be called more than once: a
// handler may give the slot back as soon as the body is received, and
// again, to no effect, when it returns.
//
// Every report and message is sealed after this call, so it is where the
// organisation's recipients are brought up to date (refreshRecipients):
// a key removed in the console, on any instance, gets no report or
// message begun after the removal was acknowledged.
func (s *Server) acquireUpload(ctx context.Context) (release func(), err error) {
	ok, err := s.db.TakeSubmission(ctx, s.cfg.SubmissionsPerMinute)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errSubmissionBudget
	}
	if err := s.refreshRecipients(ctx); err != nil {
		return nil, err
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case s.uploads <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-s.uploads }) }, nil
	case <-t.C:
		return nil, errBusy
	case <-ctx.Done():
		return nil, errBusy
	}
}

// limitedBody fails with errTooLarge once more than n bytes were read.
// While gate is positive it also fails, with errPartHeader, once no more
// than gate bytes of the allowance remain: see partReader.
type limitedBody struct {
	r        io.Reader
	n        int64
	exceeded bool
	gate     int64
}

var (
	errTooLarge   = errors.New("request body over limit")
	errPartHeader = errors.New("multipart part header over limit")
)

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n < 0 {
		l.exceeded = true
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	if l.gate > 0 {
		if l.n <= l.gate {
			return 0, errPartHeader
		}
		if int64(len(p)) > l.n-l.gate {
			p = p[:l.n-l.gate]
		}
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.exceeded = true
		return n, errTooLarge
	}
	return n, err
}

// bodyStream returns the request body as a stream, never buffering it
// whole. The same reader is returned for the whole request, and once it has
// reported the end of the body it keeps doing so: fasthttp's chunked stream
// would otherwise wait on the connection for the next request.
func bodyStream(c *fiber.Ctx) *onceEOF {
	if r, ok := c.Locals(bodyStreamKey{}).(*onceEOF); ok {
		return r
	}
	var src io.Reader = bytes.NewReader(nil)
	if r := c.Context().RequestBodyStream(); r != nil {
		src = r
	}
	r := &onceEOF{r: src}
	c.Locals(bodyStreamKey{}, r)
	return r
}

type bodyStreamKey struct{}

// paceUploads makes the body of a multipart upload a pacedBody. Only
// multipart uploads outlive HeaderTimeout (see HeaderReceived in New).
func (s *Server) paceUploads(c *fiber.Ctx) error {
	if r := c.Context().RequestBodyStream(); r != nil && strings.HasPrefix(c.Get(fiber.HeaderContentType), "multipart/form-data") {
		if conn := c.Context().Conn(); conn != nil {
			var body io.Reader = &pacedBody{r: r, conn: conn, start: time.Now(), cfg: &s.cfg}
			if cl := c.Request().Header.ContentLength(); cl < 0 || cl > 4*uploadReadSize {
				body = bufio.NewReaderSize(body, uploadReadSize)
			}
			c.Locals(bodyStreamKey{}, &onceEOF{r: body})
		}
	}
	return c.Next()
}

// uploadReadSize is how much of a multipart body is asked of the
// connection at once. The multipart parser reads a few KiB at a time;
// passed straight to the socket, that is a system call (and a deadline
// update) every few KiB, a quarter of a million per GiB uploaded. Only
// bodies of more than a MiB (or of unknown length) get the buffer: a
// follow-up message's few KiB would only pay for allocating it.
const uploadReadSize = 256 << 10

// errTooSlow means a request body stalled or trickled in below the minimum
// rate; the connection is dropped.
var errTooSlow = errors.New("request body too slow")

// pacedBody reads a request body against the connection's deadline, moving
// it forward as bytes arrive: each read may wait up to BodyIdleTimeout,
// never past ReadTimeout from the start, and each BodyIdleTimeout spent
// waiting for the client must bring MinUploadRate bytes for each of its
// seconds. A client trickling a byte at a time, or sending nothing, thus
// holds an upload slot for about a minute rather than an hour. Only time
// spent waiting for the client counts, so a server busy encrypting or
// writing never makes a client look slow.
type pacedBody struct {
	r     io.Reader
	conn  net.Conn
	start time.Time
	cfg   *Config
	// The current window: time spent waiting in it, bytes received.
	waited time.Duration
	got    int64
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if window := p.cfg.BodyIdleTimeout; p.waited >= window {
		if float64(p.got) < float64(p.cfg.MinUploadRate)*window.Seconds() {
			return 0, errTooSlow
		}
		p.waited, p.got = 0, 0
	}
	now := time.Now()
	deadline := now.Add(p.cfg.BodyIdleTimeout)
	if end := p.start.Add(p.cfg.ReadTimeout); deadline.After(end) {
		deadline = end
	}
	if err := p.conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	p.waited += time.Since(now)
	p.got += int64(n)
	return n, err
}

// onceEOF is a reader that stops at its first error, including io.EOF.
type onceEOF struct {
	r   io.Reader
	err error
}

func (o *onceEOF) Read(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.r.Read(p)
	o.err = err
	return n, err
}

// maxPartHeader bounds the boundary line and headers of one multipart
// part, and what the parser has buffered of them (mime/multipart itself
// allows 10 MiB of headers for each part).
const maxPartHeader = 16<<10 + 8<<10

// partReader reads a multipart body part by part, bounding each part's
// headers to maxPartHeader bytes. Every part must be read to its end before
// the next is asked for, so that what the parser reads in between is the
// next part's boundary and headers only.
type partReader struct {
	mr   *multipart.Reader
	body *limitedBody
}

func (p *partReader) NextPart() (*multipart.Part, error) {
	p.body.gate = p.body.n - maxPartHeader
	defer func() { p.body.gate = 0 }()
	part, err := p.mr.NextPart()
	if err != nil {
		return nil, err
	}
	if !partNamed(part) {
		return nil, errPartUnnamed
	}
	return part, nil
}

// errPartUnnamed is a part whose Content-Disposition cannot be parsed (a
// file name with an unescaped quotation mark, say) or gives it no name.
// mime/multipart answers "" for FormName and FileName of such a part, so
// it would otherwise pass for an unknown field and be dropped unseen:
// every form refuses it instead.
var errPartUnnamed = errors.New("form part with an unreadable Content-Disposition")

// errPartUnnamedUpload is errPartUnnamed as the reporter is told it.
func errPartUnnamedUpload() *userError {
	return badUpload(say("A file or field in the form could not be read (a file name with a quotation mark in it, for example)."))
}

func partNamed(part *multipart.Part) bool {
	disp, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	return err == nil && disp == "form-data" && params["name"] != ""
}

// openMultipart starts reading the multipart body of c as a stream, within
// MaxUploadBytes (refused at once if the declared length is larger). If
// csrf is non-nil, the first part must be a "csrf" field that it accepts,
// or csrfErr is returned before anything else is read. On error the rest of
// the body is refused (bodyFraming).
func (s *Server) openMultipart(c *fiber.Ctx, csrf func(string) bool, csrfErr error) (*partReader, *limitedBody, error) {
	mediaType, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, badUpload(say("The form was not sent as expected."))
	}
	if cl := int64(c.Request().Header.ContentLength()); cl > s.cfg.MaxUploadBytes {
		return nil, nil, s.errLimit(say("Your submission is larger than this service accepts."))
	}
	body := &limitedBody{r: bodyStream(c), n: s.cfg.MaxUploadBytes}
	mr := &partReader{mr: multipart.NewReader(body, params["boundary"]), body: body}
	if csrf != nil {
		part, err := mr.NextPart()
		if err != nil || part.FormName() != "csrf" {
			return nil, nil, csrfErr
		}
		tok, err := readField(part, 256)
		if err != nil || !csrf(tok) {
			return nil, nil, csrfErr
		}
	}
	return mr, body, nil
}

// receive parses the multipart body of c as a stream. Text fields are read
// into memory up to their limits; each file part is encrypted to recipients
// chunk by chunk straight into storage, so memory stays bounded and no byte
// of plaintext reaches a disk, whatever the size. If csrf is non-nil, the
// first part must be a "csrf" field that it accepts, before anything is
// stored. On any error every attachment stored so far is deleted.
func (s *Server) receive(c *fiber.Ctx, recipients []age.Recipient, csrf func(string) bool) (_ *upload, err error) {
	mr, body, err := s.openMultipart(c, csrf, errCSRF)
	if err != nil {
		return nil, err
	}
	return s.receiveParts(c, mr, body, recipients, nil)
}

// receiveParts is receive from the next part of a body already opened.
// For a new report (pick is non-nil), the form's token is looked up among
// the receipts kept (receipt_kept.go) before the database: a form that
// made a report within receiptKept yields a *repeatReceipt error, and one
// whose first attempt is still in flight waits for its outcome. A new
// report's "channel" field chooses its channel (channel_pick.go), which
// must be settled before its first file: files are then encrypted to
// pick's recipients, not to recipients.
func (s *Server) receiveParts(c *fiber.Ctx, mr *partReader, body *limitedBody, recipients []age.Recipient, pick *channelPick) (_ *upload, err error) {
	report := pick != nil
	ctx := context.WithoutCancel(c.UserContext())
	up := &upload{owner: "upload:" + randomToken()}
	defer func() {
		if err != nil {
			up.claim.drop()
			if derr := s.db.DeletePending(ctx, up.ids...); derr != nil {
				s.log.Error("failed to delete a rejected upload", "err", derr)
			}
		}
	}()

	tooLarge := func(e error) error {
		if body.exceeded {
			return s.errLimit(say("Your submission is larger than this service accepts."))
		}
		return e
	}
	// The parts of a form: its files, its answers (known once its
	// questionnaire is) and a few fields.
	maxParts := func() int { return s.cfg.MaxFiles + 12 + answerParts(up.questionnaire) }
	sawText := false
	var buf []byte // the copy buffer, made for the first file only
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errPartUnnamed) {
			return nil, errPartUnnamedUpload()
		}
		if err != nil {
			return nil, tooLarge(badUpload(say("The form data was incomplete or malformed.")))
		}
		if parts >= maxParts() {
			return nil, badUpload(say("The form had too many parts."))
		}
		switch part.FormName() {
		case "body":
			if report {
				up.checkAnswers(false)
			}
			if sawText {
				return nil, badUpload(say("The form had the text field twice."))
			}
			sawText = true
			if up.text, err = s.readText(part); err != nil {
				return nil, tooLarge(err)
			}
		case "attachments":
			if report {
				if err := s.resolveQuestionnaire(ctx, up, pick); err == errChannelMissing {
					return nil, errChannelLate
				} else if err != nil {
					return nil, err
				}
				recipients = pick.recipients
			}
			if buf == nil {
				buf = make([]byte, 256<<10)
			}
			if err := s.receiveReportFile(ctx, part, recipients, up, buf, report, ""); err != nil {
				return nil, tooLarge(err)
			}
		case "questionnaire":
			// The version the form asks: before its answers and files.
			if !report {
				// Not a field of this form: as any unknown field.
				if err := dropUnknownPart(part); err != nil {
					return nil, tooLarge(err)
				}
				break
			}
			v, err := readField(part, 64)
			if err != nil || part.FileName() != "" || up.ref != "" || up.questionnaire != nil {
				return nil, tooLarge(badUpload(say("The form could not be read.")))
			}
			up.ref = strings.TrimSpace(v)
		case formTokenField:
			// Before any file, so that a repeat is refused before its
			// files are read.
			v, err := readField(part, 256)
			if err != nil {
				return nil, tooLarge(badUpload(say("The form could not be read.")))
			}
			hash, ok := formTokenHash(v)
			if !ok || up.formHash != nil {
				return nil, badUpload(say("The form could not be read."))
			}
			if report {
				rec, claim, err := s.receipts.enter(c.UserContext(), v, hash, s.receiptWait())
				if err != nil {
					return nil, err
				}
				if rec != nil {
					return nil, &repeatReceipt{receipt: rec}
				}
				up.claim = claim
			}
			used, err := s.db.FormUsed(ctx, hash)
			if err != nil {
				return nil, err
			}
			if used {
				return nil, errRepeat
			}
			up.formHash = hash
		case "channel":
			if !report {
				// Not a field of this form: as any unknown field.
				if err := dropUnknownPart(part); err != nil {
					return nil, tooLarge(err)
				}
				break
			}
			v, err := readField(part, 32)
			if err != nil {
				return nil, tooLarge(errChannelUnknown)
			}
			if err := pick.choose(strings.TrimSpace(v)); err != nil {
				return nil, err
			}
		case "keep_originals":
			// The reporter's explicit choice to store files as sent.
			v, err := readField(part, 16)
			if err != nil {
				return nil, tooLarge(badUpload(say("The form could not be read.")))
			}
			up.keepOriginals = v == "yes"
		case "website":
			// The honeypot: hidden from people, filled in by robots.
			v, err := readField(part, 4<<10)
			if err != nil || strings.TrimSpace(v) != "" {
				return nil, errHoneypot
			}
		default:
			if report && isIdentityField(part.FormName()) {
				if err := up.identity.read(part, len(up.ids) > 0 || len(up.refusedFiles) > 0); err != nil {
					return nil, tooLarge(err)
				}
				break
			}
			if report && strings.HasPrefix(part.FormName(), "q_") {
				if err := s.resolveQuestionnaire(ctx, up, pick); err == errChannelMissing && part.FileName() != "" {
					return nil, errChannelLate
				} else if err != nil {
					return nil, err
				}
			}
			if q := questionOfField(up.questionnaire, part.FormName()); report && q != nil {
				if q.Type == frontend.File {
					// A file answering a question: stored as the report's
					// other files, with the question it answers.
					if buf == nil {
						buf = make([]byte, 256<<10)
					}
					if err := s.receiveReportFile(ctx, part, pick.recipients, up, buf, report, q.ID); err != nil {
						return nil, tooLarge(err)
					}
					break
				}
				if err := up.fields.read(part, q); err != nil {
					return nil, tooLarge(err)
				}
				break
			}
			if err := dropUnknownPart(part); err != nil {
				return nil, tooLarge(err)
			}
		}
		part.Close()
	}
	if report {
		if err := s.resolveQuestionnaire(ctx, up, pick); err != nil {
			return nil, err
		}
		up.checkAnswers(true)
		if up.problem != nil {
			// The deferred clean-up deletes any file stored before the
			// wrong answer arrived; its name is listed with the others.
			files := append(fileNames(up.files), up.refusedFiles...)
			return nil, &answersRefused{problem: up.problem, qn: up.questionnaire, raw: up.fields.raw, text: up.text,
				files: files, keep: up.keepOriginals, person: &up.identity}
		}
	}
	// What follows the closing boundary (an epilogue, the end of a chunked
	// body) is drained by bodyFraming.
	return up, nil
}

// dropUnknownPart reads and drops a field the form does not have, within
// bounds; a file under another name would be lost, so it is refused.
func dropUnknownPart(part *multipart.Part) error {
	if part.FileName() != "" {
		return errPartUnnamedUpload()
	}
	if _, err := readField(part, 4<<10); err != nil {
		return badUpload(say("The form had an unexpected field."))
	}
	return nil
}

// readText reads the text of a report or message, within its limit, with
// line ends made "\n" and surrounding space trimmed.
func (s *Server) readText(part *multipart.Part) (string, error) {
	// No character takes more than four bytes of UTF-8, and a line end
	// sent as "\r\n" counts as one character.
	text, err := readField(part, utf8.UTFMax*s.cfg.MaxTextChars)
	if errors.Is(err, errFieldTooLong) {
		return "", s.errTextLimit()
	}
	if err != nil {
		return "", badUpload(say("The text could not be read."))
	}
	if !utf8.ValidString(text) {
		return "", badUpload(say("The text was not valid Unicode (UTF-8)."))
	}
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	if utf8.RuneCountInString(text) > s.cfg.MaxTextChars {
		return "", s.errTextLimit()
	}
	return text, nil
}

var errFieldTooLong = errors.New("field too long")

func readField(part *multipart.Part, limit int) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
	if err != nil {
		return "", err
	}
	if len(b) > limit {
		return "", errFieldTooLong
	}
	return string(b), nil
}

// receiveReportFile receives one file of a form: for a new report
// (report), only while its answers are right so far: after a wrong one,
// the file is read and dropped, and its name kept to be chosen again.
// question is the id of the file question it answers, if any.
func (s *Server) receiveReportFile(ctx context.Context, part *multipart.Part, recipients []age.Recipient, up *upload, buf []byte, report bool, question string) error {
	if report {
		up.checkAnswers(false)
		if up.problem != nil {
			if name := part.FileName(); name != "" && len(up.refusedFiles) < s.cfg.MaxFiles {
				up.refusedFiles = append(up.refusedFiles, crypto.CleanAttachmentName(name))
			}
			if _, err := io.Copy(io.Discard, part); err != nil {
				return badUpload(say("A file could not be read."))
			}
			return nil
		}
	}
	n := len(up.files)
	if err := s.receiveFile(ctx, part, recipients, up, buf); err != nil {
		return err
	}
	if len(up.files) > n {
		up.files[n].Question = question
	}
	return nil
}

// receiveFile encrypts one file part into a pending attachment.
func (s *Server) receiveFile(ctx context.Context, part *multipart.Part, recipients []age.Recipient, up *upload, buf []byte) (err error) {
	// A file input left empty is sent as a part with no file name and no
	// content: skip it. The first bytes also say whether the cleaner would
	// change the file at all (metadata.Untouched).
	br := bufio.NewReaderSize(part, 64<<10)
	head, err := br.Peek(metadata.HeadSize)
	if len(head) == 0 {
		if err == io.EOF {
			if part.FileName() == "" {
				return nil
			}
			// an empty file with a name is kept: it is what was sent
		} else if err != nil {
			return badUpload(say("A file could not be read."))
		}
	}
	if len(up.files) >= s.cfg.MaxFiles {
		return s.errLimit(say("You attached more than %d files.", s.cfg.MaxFiles))
	}
	aw, err := s.db.NewOwnedAttachment(ctx, up.owner)
	if err != nil {
		return err
	}
	up.ids = append(up.ids, aw.ID())
	defer func() {
		if err != nil {
			aw.Abort() // a chunk may still be being stored: let it finish before the upload is deleted
		}
	}()
	enc, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return fmt.Errorf("failed to start encryption: %w", err)
	}
	// Two hashes: of what the reporter sent, and of what is stored after
	// metadata cleaning. Cleaning happens here, before encryption, so the
	// identifying original is never stored (unless the reporter asked).
	// When nothing can change the file (the reporter kept their originals,
	// or no cleaner claims its format) it is hashed once: SHA-256 costs
	// more processor than age's encryption of the same bytes.
	counted := &countingReader{r: io.LimitReader(br, s.cfg.MaxFileBytes+1)}
	stored := sha256.New()
	dst := &errWriter{w: &countingWriter{w: io.MultiWriter(stored, enc)}}
	var res metadata.Result
	var original hash.Hash // nil: the file is stored as sent
	if up.keepOriginals || metadata.Untouched(head) {
		_, err = io.CopyBuffer(dst, counted, buf)
	} else {
		original = sha256.New()
		res, err = s.cleaner.CleanContext(ctx, dst, io.TeeReader(counted, original))
	}
	if dst.err != nil {
		return dst.err // encryption or storage failed: not the sender's fault
	}
	if counted.n > s.cfg.MaxFileBytes {
		return s.errLimit(say("The file \"%s\" is larger than %s.", isolate(crypto.CleanAttachmentName(part.FileName())), humanBytes(s.cfg.MaxFileBytes)))
	}
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return err
		}
		if errors.Is(err, metadata.ErrCleanerBusy) {
			return errBusy
		}
		if errors.Is(err, metadata.ErrMalformed) {
			name := isolate(crypto.CleanAttachmentName(part.FileName()))
			what := say("The file \"%s\" could not be read as the type it claims to be, so its hidden data could not be removed safely.", name)
			refusal := refusedMalformed
			switch {
			case errors.Is(err, metadata.ErrCleanerStopped):
				// Its cleaning process reached its memory or time limit.
				what = say("The file \"%s\" looks like a %s but is too complex for this service to clean safely, so its hidden data could not be removed.", name, res.Format)
				refusal = refusedCleaningStopped
			case res.Format != "":
				what = say("The file \"%s\" looks like a %s but could not be read, so its hidden data could not be removed safely.", name, res.Format)
			}
			return &userError{status: http.StatusBadRequest, title: "A file could not be cleaned", refusal: refusal,
				message: []phrase{what, say("Nothing was saved."),
					say("You can send it again as it is by ticking \"Keep my files exactly as they are\" (its hidden data may identify you), or send a screenshot of it instead.")}}
		}
		return badUpload(say("A file was cut off before it was complete."))
	}
	size := dst.w.(*countingWriter).n
	if err := enc.Close(); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	a := crypto.Attachment{
		ID:           aw.ID(),
		Name:         crypto.CleanAttachmentName(part.FileName()),
		Type:         cleanMediaType(part.Header.Get("Content-Type")),
		Size:         size,
		SHA256:       hex.EncodeToString(stored.Sum(nil)),
		Cleaned:      res.Cleaned(),
		Removed:      res.Removed,
		KeptOriginal: up.keepOriginals,
		Note:         res.Note,
	}
	if original != nil {
		if orig := hex.EncodeToString(original.Sum(nil)); orig != a.SHA256 {
			a.OriginalSHA256 = orig
		}
	}
	up.files = append(up.files, a)
	return nil
}

// isolate marks a file name in a sentence as text of its own direction
// (U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE, what
// <bdi> does in markup), so that a Latin name in an Arabic or Urdu
// sentence, or an Arabic name in an English one, does not reorder the
// words around it.
func isolate(name string) string { return "\u2068" + name + "\u2069" }

func cleanMediaType(s string) string {
	mt, _, err := mime.ParseMediaType(s)
	if err != nil || len(mt) > 100 || !strings.Contains(mt, "/") {
		return "application/octet-stream"
	}
	return mt
}

// discard deletes pending attachments after a failure that came after the
// upload itself (sealing or committing the message).
func (s *Server) discard(ctx context.Context, up *upload) {
	if up == nil {
		return
	}
	if err := s.db.DeletePending(context.WithoutCancel(ctx), up.ids...); err != nil {
		s.log.Error("failed to delete pending attachments", "err", err)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// errWriter remembers a write error, to tell a failure of ours from a
// failure of the sender's stream in io.Copy.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
