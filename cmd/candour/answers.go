package main

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/candour/candour/crypto"
)

// The answers to the intake questions as `candour decrypt` writes them for
// people to read (answers.txt, and the first message's text file): a
// heading naming the questionnaire and its version, then one block per
// answer, "Label: value", a list as "- item" lines, a long text indented
// under its label. The staff console reads them alike (frontend/js/answers.js).
//
// Everything in a message comes from the reporter and is hostile: every
// string is passed through terminalText, so that reading the output in a
// terminal cannot move its cursor, change its colours or reorder its text.

// maxAnswerValues bounds the items listed for one answer, as the console does.
const maxAnswerValues = 100

var months = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September",
	"October", "November", "December"}

var isoDate = regexp.MustCompile(`^([0-9]{4})-(0[1-9]|1[0-2])(?:-(0[1-9]|[12][0-9]|3[01]))?$`)

// readableDate turns "2024-03" into "March 2024" and "2024-03-05" into
// "5 March 2024"; anything else is returned as it is.
func readableDate(s string) string {
	m := isoDate.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	var month int
	fmt.Sscanf(m[2], "%d", &month)
	out := months[month-1] + " " + m[1]
	if m[3] != "" {
		return strings.TrimPrefix(m[3], "0") + " " + out
	}
	return out
}

// readableRange is a date range in words: "March 2024 to May 2024",
// "from March 2024", "until May 2024"; "" if neither end is given.
func readableRange(from, to string) string {
	switch {
	case from != "" && to != "":
		return readableDate(from) + " to " + readableDate(to)
	case from != "":
		return "from " + readableDate(from)
	case to != "":
		return "until " + readableDate(to)
	}
	return ""
}

// terminalText makes a hostile string safe to print and to read: invalid
// UTF-8 and C1 controls become U+FFFD, C0 controls (but for new lines and
// tabs) and DEL their visible Unicode pictures (ESC is shown as ␛), "\r\n"
// and a lone "\r" a new line, and the characters that reorder text
// (bidirectional embeddings, overrides and isolates) U+FFFD.
func terminalText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			b.WriteRune('\n')
		case r < 0x20:
			b.WriteRune(0x2400 + r) // Control Pictures: ␀ … ␟, ␛ for ESC
		case r == 0x7f:
			b.WriteRune('\u2421') // ␡
		case r >= 0x80 && r <= 0x9f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// oneLine is terminalText on one line: new lines and tabs become spaces.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\t", " ").Replace(terminalText(s))
}

// answerFile is an attachment of the message that answers a file question,
// as decrypt wrote it: its path in the case folder, or why it is not there.
type answerFile struct {
	Path    string // "attachments/NAME"
	Problem string // set if it was not written, or not verified
}

// answersHeading names the questionnaire and version in plain words.
func answersHeading(a *crypto.Answers) string {
	id := oneLine(a.Questionnaire)
	if id == "" {
		id = "unknown questionnaire"
	}
	return fmt.Sprintf("Intake answers (%s, version %d)", id, a.Version)
}

// writeAnswers writes a message's answers to the intake questions as text.
// files are the message's attachments by the file question they answer.
func writeAnswers(w *strings.Builder, a *crypto.Answers, files map[string][]answerFile) {
	fmt.Fprintf(w, "%s\n", answersHeading(a))
	for _, it := range a.Items {
		w.WriteString("\n")
		label := oneLine(it.Label)
		if label == "" {
			label = oneLine(it.ID)
		}
		value := terminalText(it.Value)
		var items []string
		switch it.Type {
		case "multi_choice":
			items = it.Values
		case "date_range", "month_range":
			if r := readableRange(oneLine(it.From), oneLine(it.To)); r != "" {
				value = r
			}
		case "date":
			value = readableDate(value)
		case "file":
			for _, f := range files[it.ID] {
				line := f.Path
				if f.Problem != "" {
					line += " (" + f.Problem + ")"
				}
				items = append(items, line)
			}
			if len(items) == 0 {
				for _, n := range it.Values {
					items = append(items, crypto.CleanAttachmentName(n)+" (not among this message's attachments)")
				}
			}
		}
		switch {
		case len(items) > 0:
			fmt.Fprintf(w, "%s:\n", label)
			for i, v := range items {
				if i == maxAnswerValues {
					fmt.Fprintf(w, "- … and %d more\n", len(items)-maxAnswerValues)
					break
				}
				fmt.Fprintf(w, "- %s\n", oneLine(v))
			}
		case strings.Contains(value, "\n"):
			// A long text: its lines indented under its label, blank
			// lines kept, so it reads as it was written.
			fmt.Fprintf(w, "%s:\n", label)
			for _, line := range strings.Split(value, "\n") {
				fmt.Fprintf(w, "  %s\n", line)
			}
		default:
			fmt.Fprintf(w, "%s: %s\n", label, value)
		}
	}
}
