package crypto_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/candour/candour/crypto"
)

func FuzzParseCaseCode(f *testing.F) {
	for _, s := range []string{
		"K01S-H0RD-8NBQ-BKA6-1PXX",
		"k01s h0rd-8nbq bka6 1pxx",
		"KO1S-HORD-8NBQ-BKA6-IPXX",
		"K0LS.H0RD.8NBQ.BKA6.LPXX",
		"K01S\tH0RD\u00a08NBQ\u2013BKA6\u20141PXX",
		"K01S-H0RD-8NBQ-BKA6-UPXX",
		"K01S-H0RD-8NBQ-BKA6-1PX",
		"K01S-H0RD-8NBQ-BKA6-1PXÉ",
		"K0\u0131S-H0RD-8NBQ-BKA6-1PXX",
		"\xff\xfe",
		"",
		strings.Repeat("-", 81),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := crypto.ParseCaseCode(s)
		if err != nil {
			if err != crypto.ErrMalformedCaseCode {
				t.Fatalf("error %v is not ErrMalformedCaseCode", err)
			}
			if !c.IsZero() {
				t.Fatal("non-zero code returned with an error")
			}
			return
		}
		d := c.Display()
		if len(d) != 24 {
			t.Fatalf("Display() = %q has %d bytes, want 24", d, len(d))
		}
		if !displayPattern.MatchString(d) {
			t.Fatalf("Display() = %q does not match %v", d, displayPattern)
		}
		again, err := crypto.ParseCaseCode(d)
		if err != nil {
			t.Fatalf("Display() = %q does not parse: %v", d, err)
		}
		if again != c {
			t.Fatalf("Display() = %q parses to a different code", d)
		}
	})
}

func FuzzCleanAttachmentName(f *testing.F) {
	for _, s := range []string{
		"report.pdf",
		"../../etc/passwd",
		`C:\Users\me\photo.jpg`,
		".hidden",
		"..\u202e.x",
		"",
		"a\x00b\nc",
		"invoice\u202egpj.exe",
		`a<b>c:d"e|f?g*h`,
		"\xff\xfeabc\xc3",
		strings.Repeat("é", 1000),
		strings.Repeat("😀", 60) + "/.",
		strings.Repeat("a", 199) + " b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := crypto.CleanAttachmentName(s)
		if problem := checkCleanName(got); problem != "" {
			t.Fatalf("CleanAttachmentName(%q) = %q: %s", s, got, problem)
		}
		if again := crypto.CleanAttachmentName(got); again != got {
			t.Fatalf("CleanAttachmentName(%q) = %q, which cleans again to %q", s, got, again)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"text":"hi"}`,
		`{"v":1,"text":"hi","attachments":[{"id":7,"name":"a.txt","type":"text/plain","size":3,"sha256":"00"}]}`,
		`{"v":99}`,
		`{"v":1,"attachments":null}`,
		`{"v":1,"text":"hi","answers":{"questionnaire":"police-conduct","version":1,"items":[{"id":"force","label":"Which police force is this about?","value":"Kent"}]}}`,
		`{"v":1,"answers":null}`,
		`{"v":1,"text":"\ud800"}`,
		`null`,
		`[]`,
		`{`,
		"",
		"\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, plain []byte) {
		m, err := crypto.DecodeMessage(plain)
		if err != nil {
			return
		}
		if m.Version != crypto.MessageVersion {
			t.Fatalf("decoded version %d", m.Version)
		}
		if !utf8.ValidString(m.Text) {
			t.Fatalf("decoded text is not valid UTF-8: %q", m.Text)
		}
	})
}
