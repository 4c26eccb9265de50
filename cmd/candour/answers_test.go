package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// channelQuestionnaire is a channel's own questionnaire, of the types the
// built-in one does not ask: multiple choice, yes/no, a date range of days
// and a file question.
func channelQuestionnaire(t *testing.T) []byte {
	t.Helper()
	en := func(s string) frontend.Text { return frontend.Text{"en": s} }
	qn := &frontend.Questionnaire{Steps: []frontend.Step{{Questions: []frontend.Question{
		{ID: "apps", Type: frontend.MultiChoice, Label: en("Which apps were used?"), Choices: []frontend.QuestionChoice{
			{Value: "WhatsApp", Label: en("WhatsApp")}, {Value: "Signal", Label: en("Signal")}, {Value: "Telegram", Label: en("Telegram")}}},
		{ID: "ongoing", Type: frontend.YesNo, Label: en("Is it still going on?")},
		{ID: "when", Type: frontend.DateRange, Precision: frontend.PrecisionDay, Label: en("Between which days?")},
		{ID: "details", Type: frontend.LongText, Label: en("What happened?")},
		{ID: "evidence", Type: frontend.File, Label: en("Screenshots of the messages")},
	}}}}
	def, err := qn.Definition()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := frontend.ParseQuestionnaire("channel-2", 1, def); err != nil {
		t.Fatalf("the test's questionnaire is not valid: %v", err)
	}
	return def
}

// storeSealedCase stores, as the server would, a case whose first message
// is sealed here with answers of every kind and one file that answers the
// file question: the server's steps and file questions are built
// elsewhere, and this checks the readers of what they will seal.
func storeSealedCase(t *testing.T, db *storage.DB, recipients []age.Recipient, channel int64, ref string,
	answers crypto.Answers, files map[string][]byte, question map[string]string) {
	t.Helper()
	ctx := context.Background()
	owner := "test:" + ref
	msg := crypto.Message{Text: "The report's own text.\x1b[2J", Answers: &answers}
	var ids []int64
	for _, name := range []string{"screenshot.png", "chat.txt"} {
		data, ok := files[name]
		if !ok {
			continue
		}
		w, err := db.NewOwnedAttachment(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		aw, err := age.Encrypt(w, recipients...)
		if err != nil {
			t.Fatal(err)
		}
		aw.Write(data)
		if err := aw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		msg.Attachments = append(msg.Attachments, crypto.Attachment{ID: w.ID(), Name: name, Type: "application/octet-stream",
			Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Question: question[name]})
		ids = append(ids, w.ID())
	}
	sealed, err := crypto.SealMessage(msg, recipients)
	if err != nil {
		t.Fatal(err)
	}
	kdf, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, Salt: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.CreateCase(ctx, storage.NewCase{Ref: ref, LookupID: []byte("lookup " + ref), KDFID: kdf.ID,
		WrappedIdentity: []byte("age-encryption.org/v1 stand-in"), Recipient: "age1stand-in", ChannelID: channel,
		Questionnaire: fmt.Sprintf("%s@%d", answers.Questionnaire, answers.Version),
		First:         storage.NewMessage{Author: "reporter", Ciphertext: sealed, AttachmentIDs: ids, AttachmentOwner: owner}})
	if err != nil {
		t.Fatal(err)
	}
}

// The answers to the intake questions round-trip to the readers outside
// the browser: `candour export` records each case's questionnaire version
// and writes the definitions asked; `candour decrypt` writes answers.json
// as sealed and answers.txt (and the message's text) to read, with no
// terminal control characters; and stock age decrypts each message to the
// JSON that carries them. One case comes through the real report form (the
// built-in questionnaire), one is sealed here with the types the form does
// not ask yet (multiple choice, yes/no, days, a file question answered by
// an attachment), and one names a questionnaire that is not stored.
func TestAnswersRoundTripToExportDecryptAndStockAge(t *testing.T) {
	t.Parallel()
	ageBin := stockAge(t)
	dir := t.TempDir()
	keyFile, recipientsFile := newKey(t, dir)
	rf, err := os.Open(recipientsFile)
	if err != nil {
		t.Fatal(err)
	}
	recipients, err := age.ParseRecipients(rf)
	rf.Close()
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")

	db := openStorage(t, data)
	ctx := context.Background()
	ch, err := db.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Kent Police"}})
	if err != nil {
		t.Fatal(err)
	}
	def := channelQuestionnaire(t)
	if _, err := db.SaveQuestionnaire(ctx, ch, 0, def, 0); err != nil {
		t.Fatal(err)
	}
	qid := fmt.Sprintf("channel-%d", ch)
	sealed := crypto.Answers{Questionnaire: qid, Version: 1, Items: []crypto.Answer{
		{ID: "apps", Type: "multi_choice", Label: "Which apps were used?", Value: "WhatsApp; Signal", Values: []string{"WhatsApp", "Signal"}},
		{ID: "ongoing", Type: "yes_no", Label: "Is it still going on?", Value: "Yes"},
		{ID: "when", Type: "date_range", Label: "Between which days?", Value: "2024-03-05 to 2024-05-31", From: "2024-03-05", To: "2024-05-31"},
		{ID: "details", Type: "long_text", Label: "What happened?", Value: "A sergeant posted it.\n\nThen \x1b]0;pwned\x07 \u202eothers\u202c joined <b>in</b>."},
		{ID: "evidence", Type: "file", Label: "Screenshots of the messages", Value: "screenshot.png", Values: []string{"screenshot.png"}},
		{ID: "old", Label: "Asked before answers had types", Value: "As it was written"},
	}}
	screenshot, chat := []byte("PNG-BYTES"), []byte("CHAT-BYTES")
	storeSealedCase(t, db, recipients, ch, "SEALED", sealed,
		map[string][]byte{"screenshot.png": screenshot, "chat.txt": chat}, map[string]string{"screenshot.png": "evidence"})
	unknown := crypto.Answers{Questionnaire: "retired-form", Version: 3, Items: []crypto.Answer{{ID: "x", Label: "X?", Value: "y"}}}
	storeSealedCase(t, db, recipients, ch, "UNKNOWNQ", unknown, nil, nil)
	db.Close()

	// The built-in questionnaire, through the real report form.
	base := serve(t, data, recipientsFile)
	body, ctype := form(t, [][2]string{{"channel", strconv.FormatInt(storage.DefaultChannel, 10)}, {"q_force", "Northshire <Police>"}, {"q_when_from", "2024-03"}, {"q_when_to", "2024-05"},
		{"q_platform", "Microsoft Teams"}, {"q_people", "A sergeant\r\nTwo constables"}, {"body", "FORM-REPORT"}}, nil)
	res, page := do(t, http.DefaultClient, "POST", base+"/report", body, ctype)
	if res.StatusCode != 200 || !strings.Contains(page, `id="case-code"`) {
		t.Fatalf("report: %d\n%s", res.StatusCode, page)
	}

	exp := filepath.Join(dir, "export")
	cmd := onEngine(t, exec.Command(candourBin, "export", "--data", data, "--out", exp))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("candour export: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `case UNKNOWNQ was asked questionnaire "retired-form@3", whose definition is not stored`) {
		t.Errorf("export does not say that a definition is missing:\n%s", out)
	}

	// The manifest: each case's questionnaire version, and each definition once.
	var m struct {
		Cases []struct {
			Ref               string `json:"ref"`
			Questionnaire     string `json:"questionnaire"`
			QuestionnaireFile string `json:"questionnaire_file"`
			Files             []struct {
				Path string `json:"path"`
				Kind string `json:"kind"`
			} `json:"files"`
		} `json:"cases"`
		Questionnaires []struct {
			Ref, ID, Path, SHA256 string
			Version               int
			Size                  int64
		} `json:"questionnaires"`
	}
	raw, err := os.ReadFile(filepath.Join(exp, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	byRef := map[string]int{}
	formRef := ""
	for i, c := range m.Cases {
		byRef[c.Ref] = i
		if c.Ref != "SEALED" && c.Ref != "UNKNOWNQ" {
			formRef = c.Ref
		}
	}
	if len(m.Cases) != 3 || formRef == "" {
		t.Fatalf("manifest cases: %s", raw)
	}
	wantCases := map[string][2]string{
		"SEALED":   {qid + "@1", "questionnaires/" + qid + "-v1.json"},
		"UNKNOWNQ": {"retired-form@3", ""},
		formRef:    {"police-conduct@1", "questionnaires/police-conduct-v1.json"},
	}
	for ref, want := range wantCases {
		c := m.Cases[byRef[ref]]
		if c.Questionnaire != want[0] || c.QuestionnaireFile != want[1] {
			t.Errorf("case %s: questionnaire %q in %q, want %q in %q", ref, c.Questionnaire, c.QuestionnaireFile, want[0], want[1])
		}
	}
	if len(m.Questionnaires) != 2 {
		t.Fatalf("manifest questionnaires: %s", raw)
	}
	cat, err := frontend.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := frontend.DefaultQuestionnaire(cat).Definition()
	wantDefs := map[string][]byte{"police-conduct@1": builtin, qid + "@1": def}
	for _, q := range m.Questionnaires {
		got, err := os.ReadFile(filepath.Join(exp, q.Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(got)
		if !bytes.Equal(got, wantDefs[q.Ref]) || hex.EncodeToString(sum[:]) != q.SHA256 || int64(len(got)) != q.Size ||
			q.Version != 1 || q.Ref != q.ID+"@1" {
			t.Errorf("questionnaire %+v: the file or its entry is not the definition asked", q)
		}
		if _, err := frontend.ParseQuestionnaire(q.ID, q.Version, got); err != nil {
			t.Errorf("%s does not parse as a questionnaire: %v", q.Path, err)
		}
	}

	// Stock age, no Candour code: each first message is JSON with its answers.
	messageOf := func(ref string) string {
		for _, f := range m.Cases[byRef[ref]].Files {
			if f.Kind == "message" {
				return filepath.Join(exp, f.Path)
			}
		}
		t.Fatalf("case %s has no message", ref)
		return ""
	}
	stockAnswers := func(ref string) (crypto.Message, *crypto.Answers) {
		plain, err := exec.Command(ageBin, "-d", "-i", keyFile, messageOf(ref)).Output()
		if err != nil {
			t.Fatalf("stock age could not decrypt case %s's message: %v", ref, err)
		}
		var msg crypto.Message
		if err := json.Unmarshal(plain, &msg); err != nil || msg.Answers == nil {
			t.Fatalf("stock age output of case %s carries no answers: %v\n%s", ref, err, plain)
		}
		return msg, msg.Answers
	}
	if msg, got := stockAnswers("SEALED"); !reflect.DeepEqual(*got, sealed) || len(msg.Attachments) != 2 || msg.Attachments[0].Question != "evidence" {
		t.Errorf("stock age: answers %+v, attachments %+v", got, msg.Attachments)
	}
	wantForm := crypto.Answers{Questionnaire: "police-conduct", Version: 1, Items: []crypto.Answer{
		{ID: "force", Type: "short_text", Label: "Which police force is this about?", Value: "Northshire <Police>"},
		{ID: "when", Type: "date_range", Label: "When did it happen, roughly?", Value: "2024-03 to 2024-05", From: "2024-03", To: "2024-05"},
		{ID: "platform", Type: "choice", Label: "Where were the messages posted?", Value: "Microsoft Teams"},
		{ID: "people", Type: "long_text", Label: "Who was involved? Their role or rank is enough; you do not have to name anyone.",
			Value: "A sergeant\nTwo constables"},
	}}
	if _, got := stockAnswers(formRef); !reflect.DeepEqual(*got, wantForm) {
		t.Errorf("stock age: the form's answers are\n%+v\nwant\n%+v", *got, wantForm)
	}

	// candour decrypt: answers.json as sealed, answers.txt to read.
	plainDir := filepath.Join(dir, "plain")
	candour(t, "decrypt", "-i", keyFile, "-o", plainDir, exp)
	readAnswers := func(ref string) (crypto.Answers, string) {
		raw, err := os.ReadFile(filepath.Join(plainDir, ref, "answers.json"))
		if err != nil {
			t.Fatalf("case %s: no answers.json: %v", ref, err)
		}
		var a crypto.Answers
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("case %s: answers.json: %v", ref, err)
		}
		if !strings.Contains(string(raw), "\n  \"questionnaire\"") {
			t.Errorf("case %s: answers.json is not indented:\n%s", ref, raw)
		}
		txt, err := os.ReadFile(filepath.Join(plainDir, ref, "answers.txt"))
		if err != nil {
			t.Fatalf("case %s: no answers.txt: %v", ref, err)
		}
		return a, string(txt)
	}
	gotSealed, sealedText := readAnswers("SEALED")
	if !reflect.DeepEqual(gotSealed, sealed) {
		t.Errorf("answers.json is not what was sealed:\n%+v\nwant\n%+v", gotSealed, sealed)
	}
	wantText := "Intake answers (" + qid + ", version 1)\n" +
		"\nWhich apps were used?:\n- WhatsApp\n- Signal\n" +
		"\nIs it still going on?: Yes\n" +
		"\nBetween which days?: 5 March 2024 to 31 May 2024\n" +
		"\nWhat happened?:\n  A sergeant posted it.\n  \n  Then ␛]0;pwned␇ \uFFFDothers\uFFFD joined <b>in</b>.\n" +
		"\nScreenshots of the messages:\n- attachments/screenshot.png\n" +
		"\nAsked before answers had types: As it was written\n"
	if sealedText != wantText {
		t.Errorf("answers.txt =\n%s\nwant\n%s", sealedText, wantText)
	}
	gotForm, formText := readAnswers(formRef)
	if !reflect.DeepEqual(gotForm, wantForm) {
		t.Errorf("answers.json of the form's case = %+v", gotForm)
	}
	for _, want := range []string{"Intake answers (police-conduct, version 1)\n", "\nWhich police force is this about?: Northshire <Police>\n",
		"\nWhen did it happen, roughly?: March 2024 to May 2024\n", "\nWhere were the messages posted?: Microsoft Teams\n",
		"you do not have to name anyone.:\n  A sergeant\n  Two constables\n"} {
		if !strings.Contains(formText, want) {
			t.Errorf("answers.txt of the form's case lacks %q:\n%s", want, formText)
		}
	}

	// The message's text holds the same answers, then its text and files;
	// the attachment says which question it answers.
	msgs, _ := filepath.Glob(filepath.Join(plainDir, "SEALED", "message-*-reporter.txt"))
	if len(msgs) != 1 {
		t.Fatalf("SEALED's messages: %v", msgs)
	}
	msgText, _ := os.ReadFile(msgs[0])
	for _, want := range []string{"\n\n" + wantText + "\nThe report's own text.␛[2J\n",
		"\nAttachment: attachments/screenshot.png\n", "  answers the question: Screenshots of the messages\n",
		"\nAttachment: attachments/chat.txt\n"} {
		if !strings.Contains(string(msgText), want) {
			t.Errorf("the message's text lacks %q:\n%s", want, msgText)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(plainDir, "SEALED", "attachments", "screenshot.png")); !bytes.Equal(got, screenshot) {
		t.Error("the file that answers the file question is not decrypted")
	}
	caseText, _ := os.ReadFile(filepath.Join(plainDir, "SEALED", "case.txt"))
	if want := "Questionnaire: " + qid + "@1 (its questions: ../questionnaires/" + qid + "-v1.json)\n"; !strings.Contains(string(caseText), want) {
		t.Errorf("case.txt lacks %q:\n%s", want, caseText)
	}
	if got, _ := os.ReadFile(filepath.Join(plainDir, "questionnaires", qid+"-v1.json")); !bytes.Equal(got, def) {
		t.Error("decrypt did not copy the channel's questionnaire")
	}
	if got, _ := os.ReadFile(filepath.Join(plainDir, "questionnaires", "police-conduct-v1.json")); !bytes.Equal(got, builtin) {
		t.Error("decrypt did not copy the built-in questionnaire")
	}

	// No terminal control characters in anything written as text.
	control := regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e\u2066-\u2069]")
	texts, _ := filepath.Glob(filepath.Join(plainDir, "*", "*.txt"))
	if len(texts) < 6 {
		t.Fatalf("decrypted texts: %v", texts)
	}
	for _, p := range texts {
		b, _ := os.ReadFile(p)
		if loc := control.FindIndex(b); loc != nil {
			t.Errorf("%s holds a control character at %d: %q", p, loc[0], b[max(0, loc[0]-20):min(len(b), loc[1]+20)])
		}
	}
}

// The questionnaires listed in a manifest are hostile too: a path that
// leaves the export is not followed, and a definition that does not match
// its SHA-256 is not copied; either is reported, and the cases are still
// decrypted.
func TestDecryptTreatsQuestionnairesInTheManifestAsHostile(t *testing.T) {
	t.Parallel()
	dir, keyFile, exp := exportOneReport(t, nil)
	raw, _ := os.ReadFile(filepath.Join(exp, "manifest.json"))
	const listed = `"path": "questionnaires/police-conduct-v1.json"`
	if !strings.Contains(string(raw), listed) {
		t.Fatalf("the export lists no built-in questionnaire:\n%s", raw)
	}
	decrypt := func(name, manifest string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(exp, "manifest.json"), []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name)
		b, err := exec.Command(candourBin, "decrypt", "-i", keyFile, "-o", out, exp).CombinedOutput()
		if err == nil {
			t.Errorf("%s: decrypt succeeded:\n%s", name, b)
		}
		if texts, _ := filepath.Glob(filepath.Join(out, "*", "message-*-reporter.txt")); len(texts) != 1 {
			t.Errorf("%s: the case was not decrypted: %v\n%s", name, texts, b)
		}
		return string(b)
	}

	// A copy of the definition outside the export, with the same SHA-256.
	def, _ := os.ReadFile(filepath.Join(exp, "questionnaires", "police-conduct-v1.json"))
	outside := filepath.Join(dir, "outside.json")
	os.WriteFile(outside, def, 0o600)
	rel, _ := filepath.Rel(exp, outside)
	got := decrypt("escaped", strings.Replace(string(raw), listed, `"path": "`+filepath.ToSlash(rel)+`"`, 1))
	if !strings.Contains(got, "leaves the export") {
		t.Errorf("a path out of the export was not refused:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "escaped", "questionnaires", "outside.json")); err == nil {
		t.Error("decrypt copied a file from outside the export")
	}

	os.WriteFile(filepath.Join(exp, "questionnaires", "police-conduct-v1.json"), append(def, ' '), 0o600)
	got = decrypt("tampered", string(raw))
	if !strings.Contains(got, "questionnaires/police-conduct-v1.json: SHA-256 does not match the manifest") {
		t.Errorf("a changed definition was not reported:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "tampered", "questionnaires", "police-conduct-v1.json")); err == nil {
		t.Error("decrypt copied a definition that does not match the manifest")
	}
}
