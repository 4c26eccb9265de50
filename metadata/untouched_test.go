package metadata_test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/candour/candour/metadata"
)

// Untouched says which files Clean stores byte for byte, so that the
// server may hash them once. It must agree with Clean: every format a
// cleaner claims is not untouched, and whatever Untouched passes comes out
// of Clean unchanged, marked as not cleaned.
func TestUntouchedAgreesWithClean(t *testing.T) {
	tail := make([]byte, 100<<10)
	rand.Read(tail)
	claimed := map[string][]byte{
		"PNG":  []byte("\x89PNG\r\n\x1a\n"),
		"JPEG": {0xFF, 0xD8, 0xFF},
		"PDF":  []byte("%PDF-1.7\n"),
		"ZIP":  []byte("PK\x03\x04"),
		"WebP": []byte("RIFF\x00\x00\x00\x00WEBPVP8 "),
		"HEIC": []byte("\x00\x00\x00\x18ftypheic"),
	}
	for name, head := range claimed {
		if metadata.Untouched(head) {
			t.Errorf("%s: Untouched, but a cleaner claims it", name)
		}
	}
	passed := map[string][]byte{
		"random":          tail,
		"text":            []byte("a message typed in a text file\n"),
		"empty":           nil,
		"a PDF cut short": []byte("%PD"),
		"RIFF audio":      []byte("RIFF\x00\x00\x00\x00WAVEfmt "),
		"MP4 video":       []byte("\x00\x00\x00\x18ftypisom"),
	}
	for name, file := range passed {
		if !metadata.Untouched(file) {
			t.Errorf("%s: not Untouched", name)
			continue
		}
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(file))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Cleaned() || !bytes.Equal(out.Bytes(), file) {
			t.Errorf("%s: Clean changed the file (cleaned %v, %d bytes in, %d out)", name, res.Cleaned(), len(file), out.Len())
		}
	}
	// Only the first HeadSize bytes decide.
	pdf := append(bytes.Repeat([]byte{' '}, metadata.HeadSize), "%PDF-"...)
	if !metadata.Untouched(pdf) {
		t.Error("a file with %PDF- past its first bytes is not Untouched")
	}
}
