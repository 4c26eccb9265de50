package crypto_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
)

func TestSealAndOpenMessage(t *testing.T) {
	t.Parallel()
	for _, kind := range bothKinds() {
		org := newTestKey(t, kind)
		_, caseID, recipients := caseRecipients(t, kind, org)

		for _, tc := range []struct {
			name string
			msg  crypto.Message
		}{
			{"plain text", crypto.Message{Text: "The night shift skips the lock-out procedure."}},
			{"empty text", crypto.Message{}},
			{"unicode text", crypto.Message{Text: "Grüße, 你好, مرحبا, 👩‍🔧 — “quoted” \u202e reversed\x00nul"}},
			{"HTML-ish text", crypto.Message{Text: `<script>alert("x")</script><img src=x onerror=alert(1)> & &amp; </textarea>`}},
			{"JSON-ish text", crypto.Message{Text: `{"v":99,"text":"injected"}", "v": 2}`}},
			{"attachment metadata", crypto.Message{
				Text: "see attached",
				Attachments: []crypto.Attachment{
					{ID: 1, Name: "photo.jpg", Type: "image/jpeg", Size: 123456, SHA256: strings.Repeat("ab", 32)},
					{ID: 1 << 40, Name: "Bericht für März.pdf", Type: "application/pdf", Size: 0, SHA256: strings.Repeat("0", 64)},
				},
			}},
			{"answers to the intake questions", crypto.Message{
				Text: "see the answers",
				Answers: &crypto.Answers{Questionnaire: "police-conduct", Version: 1, Items: []crypto.Answer{
					{ID: "force", Label: "Which police force is this about?", Value: "Gwent <Police> & \"co\""},
					{ID: "when", Label: "When did it happen, roughly?", Value: "2024-03 to 2024-05"},
				}},
			}},
		} {
			t.Run("a "+kind.String()+" message with "+tc.name+" round-trips for the officer and the case", func(t *testing.T) {
				ct, err := crypto.SealMessage(tc.msg, recipients)
				if err != nil {
					t.Fatalf("SealMessage: %v", err)
				}
				if !bytes.HasPrefix(ct, []byte(ageHeader)) {
					t.Errorf("sealed message starts %q, want the age header", ct[:min(len(ct), 30)])
				}
				if tc.msg.Text != "" && bytes.Contains(ct, []byte(tc.msg.Text)) {
					t.Error("sealed message contains the text in clear")
				}
				for _, a := range tc.msg.Attachments {
					if bytes.Contains(ct, []byte(a.Name)) {
						t.Errorf("sealed message contains attachment name %q in clear", a.Name)
					}
				}
				if tc.msg.Answers != nil {
					for _, a := range tc.msg.Answers.Items {
						if bytes.Contains(ct, []byte(a.Value)) || bytes.Contains(ct, []byte(a.Label)) {
							t.Errorf("sealed message contains answer %q in clear", a.ID)
						}
					}
				}

				want := tc.msg
				want.Version = crypto.MessageVersion
				for _, reader := range []struct {
					name string
					id   age.Identity
				}{{"officer", org.identity}, {"case", caseID.Identity()}} {
					got, err := crypto.OpenMessage(ct, reader.id)
					if err != nil {
						t.Errorf("%s cannot open: %v", reader.name, err)
						continue
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s opened %+v, want %+v", reader.name, got, want)
					}
				}
			})
		}

		t.Run("a "+kind.String()+" message does not open for a non-recipient", func(t *testing.T) {
			ct, err := crypto.SealMessage(crypto.Message{Text: "secret"}, recipients)
			if err != nil {
				t.Fatal(err)
			}
			stranger := newTestKey(t, kind)
			if m, err := crypto.OpenMessage(ct, stranger.identity); err == nil {
				t.Errorf("a stranger opened %+v", m)
			}
			if m, err := crypto.OpenMessage(ct); err == nil {
				t.Errorf("opened with no identities: %+v", m)
			}
		})

		t.Run("a tampered "+kind.String()+" message does not open", func(t *testing.T) {
			ct, err := crypto.SealMessage(crypto.Message{Text: "secret"}, recipients)
			if err != nil {
				t.Fatal(err)
			}
			for i, bad := range [][]byte{
				append(bytes.Clone(ct[:len(ct)-1]), ct[len(ct)-1]^1),
				ct[:len(ct)-5],
				ct[:len(ageHeader)],
				nil,
				[]byte("not an age file"),
			} {
				if m, err := crypto.OpenMessage(bad, org.identity); err == nil {
					t.Errorf("tampered input %d opened as %+v", i, m)
				}
			}
		})
	}

	org := newTestKey(t, crypto.KindPostQuantum)
	rs, err := crypto.ParseRecipientsString(org.recipient)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the version set by the caller is replaced by the current version", func(t *testing.T) {
		ct, err := crypto.SealMessage(crypto.Message{Version: 99, Text: "x"}, rs.Organisation())
		if err != nil {
			t.Fatal(err)
		}
		m, err := crypto.OpenMessage(ct, org.identity)
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != crypto.MessageVersion {
			t.Errorf("Version = %d, want %d", m.Version, crypto.MessageVersion)
		}
	})

	for _, tc := range []struct {
		name string
		text string
	}{
		{"a lone continuation byte", "abc\x80def"},
		{"a truncated multi-byte sequence", "Gr\xc3"},
		{"an encoded surrogate", "\xed\xa0\x80"},
		{"an overlong encoding of a slash", "\xc0\xaf"},
	} {
		t.Run("text with "+tc.name+" is refused", func(t *testing.T) {
			if ct, err := crypto.SealMessage(crypto.Message{Text: tc.text}, rs.Organisation()); err == nil {
				t.Errorf("sealed invalid UTF-8 into %d bytes", len(ct))
			}
		})
	}

	t.Run("sealing to no recipients is refused", func(t *testing.T) {
		if _, err := crypto.SealMessage(crypto.Message{Text: "x"}, nil); err == nil {
			t.Error("SealMessage succeeded with no recipients")
		}
	})

	t.Run("sealing to a mix of kinds is refused", func(t *testing.T) {
		x := newTestKey(t, crypto.KindClassic)
		mixed := append(rs.Organisation(), mustRecipient(t, x.recipient))
		if _, err := crypto.SealMessage(crypto.Message{Text: "x"}, mixed); err == nil {
			t.Error("SealMessage succeeded with post-quantum and classic recipients")
		}
	})

	t.Run("a message larger than MaxMessageSize is refused when sealed", func(t *testing.T) {
		big := crypto.Message{Text: strings.Repeat("a", crypto.MaxMessageSize)}
		if _, err := crypto.SealMessage(big, rs.Organisation()); err == nil {
			t.Error("sealed a message that could never be opened")
		}
	})
}

func TestDecodeMessage(t *testing.T) {
	t.Parallel()
	t.Run("a current-version message decodes", func(t *testing.T) {
		m, err := crypto.DecodeMessage([]byte(`{"v":1,"text":"hi","attachments":[{"id":7,"name":"a.txt","type":"text/plain","size":3,"sha256":"00"}],"extra":true}`))
		if err != nil {
			t.Fatal(err)
		}
		want := crypto.Message{Version: 1, Text: "hi", Attachments: []crypto.Attachment{{ID: 7, Name: "a.txt", Type: "text/plain", Size: 3, SHA256: "00"}}}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("DecodeMessage = %+v, want %+v", m, want)
		}
	})

	for _, tc := range []struct {
		name, plain string
	}{
		{"an unknown future version is refused", `{"v":99,"text":"hi"}`},
		{"the next version is refused", `{"v":2,"text":"hi"}`},
		{"version zero is refused", `{"v":0,"text":"hi"}`},
		{"a negative version is refused", `{"v":-1,"text":"hi"}`},
		{"a missing version is refused", `{"text":"hi"}`},
		{"a string version is refused", `{"v":"1","text":"hi"}`},
		{"a fractional version is refused", `{"v":1.5,"text":"hi"}`},
		{"JSON null is refused", `null`},
		{"an empty input is refused", ``},
		{"truncated JSON is refused", `{"v":1,"text":"hi`},
		{"a JSON array is refused", `[1]`},
		{"trailing data is refused", `{"v":1}{"v":1}`},
		{"plain text is refused", `hello`},
		{"a wrongly typed field is refused", `{"v":1,"text":42}`},
		{"wrongly typed attachments are refused", `{"v":1,"attachments":{"id":1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := crypto.DecodeMessage([]byte(tc.plain)); err == nil {
				t.Errorf("decoded as %+v", m)
			}
		})
	}
}

func TestCleanAttachmentName(t *testing.T) {
	t.Parallel()
	longE := strings.Repeat("é", 1000)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"a plain name is kept", "report.pdf", "report.pdf"},
		{"a unicode name is kept", "Bericht für März 2024.pdf", "Bericht für März 2024.pdf"},
		{"a Unix path traversal keeps only the last element", "../../etc/passwd", "passwd"},
		{"a Windows path keeps only the file name", `C:\Users\me\photo.jpg`, "photo.jpg"},
		{"a mixed-separator path keeps only the file name", `a/b\c/d.txt`, "d.txt"},
		{"a leading dot is removed", ".hidden", "hidden"},
		{"several leading dots are removed", "...bashrc", "bashrc"},
		{"a dot after spaces is removed", "  .profile", "profile"},
		{"dots inside the name are kept", "a.b.c", "a.b.c"},
		{"surrounding spaces are trimmed", "  notes.txt  ", "notes.txt"},
		{"a surrounding tab is a control character and is replaced", "\tnotes.txt", "_notes.txt"},
		{"an empty name becomes attachment", "", "attachment"},
		{"a lone dot becomes attachment", ".", "attachment"},
		{"a parent directory becomes attachment", "..", "attachment"},
		{"a trailing slash becomes attachment", "dir/", "attachment"},
		{"a trailing backslash becomes attachment", `dir\`, "attachment"},
		{"only spaces become attachment", "   ", "attachment"},
		{"control characters are replaced", "a\x00b\nc\rd\x1be\x7ff\u0085g", "a_b_c_d_e_f_g"},
		{"a right-to-left override is replaced", "invoice\u202egpj.exe", "invoice_gpj.exe"},
		{"zero-width and BOM format characters are replaced", "a\u200bb\ufeffc\u2066d", "a_b_c_d"},
		{"characters Windows forbids are replaced", `a<b>c:d"e|f?g*h`, "a_b_c_d_e_f_g_h"},
		{"a Windows drive prefix is neutralised", "C:evil.exe", "C_evil.exe"},
		{"invalid UTF-8 is made valid", "\xff\xfeabc\xc3", "_abc_"},
		{"the replacement character is replaced", "a\ufffdb", "a_b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := crypto.CleanAttachmentName(tc.in); got != tc.want {
				t.Errorf("CleanAttachmentName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}

	t.Run("an over-long name is cut to at most 200 bytes of valid UTF-8", func(t *testing.T) {
		got := crypto.CleanAttachmentName(longE)
		if len(got) > 200 {
			t.Errorf("len = %d, want ≤ 200", len(got))
		}
		if len(got) < 199 {
			t.Errorf("len = %d: cut more than needed", len(got))
		}
		if !utf8.ValidString(got) {
			t.Errorf("result is not valid UTF-8: %q", got)
		}
		if !strings.HasPrefix(longE, got) {
			t.Error("result is not a prefix of the name")
		}
	})

	t.Run("an over-long ASCII name is cut to exactly 200 bytes", func(t *testing.T) {
		got := crypto.CleanAttachmentName(strings.Repeat("x", 500) + ".pdf")
		if len(got) != 200 {
			t.Errorf("len = %d, want 200", len(got))
		}
	})

	t.Run("an over-long name of 4-byte runes is cut on a rune boundary", func(t *testing.T) {
		got := crypto.CleanAttachmentName(strings.Repeat("😀", 100))
		if len(got) > 200 || !utf8.ValidString(got) || got != strings.Repeat("😀", 50) {
			t.Errorf("got %d bytes, valid %v", len(got), utf8.ValidString(got))
		}
	})

	t.Run("a cleaned name is unchanged by cleaning again", func(t *testing.T) {
		for _, in := range []string{"../../etc/passwd", ".hidden", longE, "a\x00b", "\xff.x", "..\u202e.x"} {
			once := crypto.CleanAttachmentName(in)
			if twice := crypto.CleanAttachmentName(once); twice != once {
				t.Errorf("CleanAttachmentName(%q) = %q, then %q", in, once, twice)
			}
		}
	})
}

// CleanAttachmentName trims spaces before it trims leading dots, so spaces
// that the dots hid are left at the start.
func TestCleanAttachmentNameDoesNotStartWithSpaceAfterDots(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{" . .x", "x"},
		{". .x", "x"},
		{".  x", "x"},
	} {
		got := crypto.CleanAttachmentName(tc.in)
		if got != tc.want {
			t.Errorf("CleanAttachmentName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := crypto.CleanAttachmentName(got); again != got {
			t.Errorf("CleanAttachmentName is not idempotent: %q → %q → %q", tc.in, got, again)
		}
	}
}

// checkCleanName reports what is wrong with a result of CleanAttachmentName.
func checkCleanName(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	case name == "":
		return "empty"
	case len(name) > 200:
		return "longer than 200 bytes"
	case strings.ContainsAny(name, `/\`):
		return "contains a path separator"
	case strings.ContainsAny(name, `<>:"|?*`):
		return "contains a character Windows forbids"
	case strings.HasPrefix(name, "."):
		return "starts with a dot"
	case strings.ContainsRune(name, utf8.RuneError):
		return "contains the replacement character"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "contains a control character"
		}
		if unicode.Is(unicode.Cf, r) {
			return "contains a format character"
		}
	}
	return ""
}
