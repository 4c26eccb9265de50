package metadata_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candour/candour/metadata"
)

// testImage is a small picture with some structure, so that a changed
// pixel would show.
func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return img
}

func exiftool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("exiftool")
	if err != nil {
		t.Fatal("exiftool is not installed: run the tests with `make test`, which installs Debian's libimage-exiftool-perl")
	}
	return p
}

// tag writes identifying metadata into the file with exiftool, as a phone
// or an editor would.
func tag(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command(exiftool(t), "-overwrite_original",
		"-GPSLatitude=51.5007", "-GPSLatitudeRef=N", "-GPSLongitude=0.1246", "-GPSLongitudeRef=W",
		"-Make=ForcePhone", "-Model=FP-9 SERIAL123456", "-Artist=PC Jane Doe", "-XMP:Creator=PC Jane Doe",
		"-Comment=sent from work phone", path).CombinedOutput()
	if err != nil {
		t.Fatalf("exiftool: %v %s", err, out)
	}
}

// tags returns everything exiftool can read from data.
func tags(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exiftool(t), "-j", "-a", "-G1", path).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	var v []map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	// What exiftool says of the probe file itself (its path under the
	// test's random temporary folder, its dates and permissions) is not in
	// the document: a search for "2024" once matched the folder's random
	// name.
	for _, m := range v {
		for k := range m {
			if k == "SourceFile" || strings.HasPrefix(k, "System:") {
				delete(m, k)
			}
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var identifying = []string{"51 deg", "ForcePhone", "SERIAL123456", "Jane Doe", "work phone"}

func TestCleaningRemovesIdentifyingMetadataAndKeepsPixels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format string
		encode func(*bytes.Buffer, image.Image) error
		decode func([]byte) (image.Image, error)
	}{
		{"JPEG", func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, &jpeg.Options{Quality: 90}) },
			func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }},
		{"PNG", func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) },
			func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.encode(&buf, testImage()); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "photo")
			if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			tag(t, path)
			tagged, _ := os.ReadFile(path)
			before := tags(t, tagged)
			for _, s := range identifying[:4] {
				if !strings.Contains(before, s) {
					t.Fatalf("the test file lacks %q before cleaning: %s", s, before)
				}
			}

			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(tagged))
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tc.format || len(res.Removed) == 0 {
				t.Fatalf("result = %+v", res)
			}
			after := tags(t, out.Bytes())
			for _, s := range identifying {
				if strings.Contains(after, s) {
					t.Errorf("%q survived cleaning: %s", s, after)
				}
			}
			a, err := tc.decode(tagged)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tc.decode(out.Bytes())
			if err != nil {
				t.Fatalf("the cleaned file no longer decodes: %v", err)
			}
			for y := 0; y < 48; y++ {
				for x := 0; x < 64; x++ {
					if a.At(x, y) != b.At(x, y) {
						t.Fatalf("pixel (%d,%d) changed", x, y)
					}
				}
			}
		})
	}
}

func TestOtherFilesPassThroughUnchanged(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{
		[]byte("plain text, a type not cleaned"),
		{0x1A, 0x45, 0xDF, 0xA3, 1, 2, 3}, // a Matroska (video) header
		{},
	} {
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(in))
		if err != nil || res.Cleaned() || res.Note != "" || !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("res %+v, err %v, changed %v", res, err, !bytes.Equal(out.Bytes(), in))
		}
	}
}

func TestTruncatedImagesAreRefused(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	png.Encode(&buf, testImage())
	for _, cut := range []int{9, 20, buf.Len() - 5} {
		if _, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(buf.Bytes()[:cut])); err == nil {
			t.Errorf("a PNG cut at %d was accepted", cut)
		}
	}
	buf.Reset()
	jpeg.Encode(&buf, testImage(), nil)
	for _, cut := range []int{3, 10, 30} {
		if _, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(buf.Bytes()[:cut])); err == nil {
			t.Errorf("a JPEG cut at %d was accepted", cut)
		}
	}
}

func FuzzClean(f *testing.F) {
	var buf bytes.Buffer
	png.Encode(&buf, testImage())
	f.Add(buf.Bytes())
	buf.Reset()
	jpeg.Encode(&buf, testImage(), nil)
	f.Add(buf.Bytes())
	f.Add([]byte("\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00"))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x00IEND\xaeB`\x82"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(in))
		if err == nil && !res.Cleaned() && !bytes.Equal(out.Bytes(), in) {
			t.Fatal("an uncleaned file was changed")
		}
		// Dropping segments and chunks never adds bytes; a PDF, rewritten
		// from its object graph, may come out larger.
		if (res.Format == "JPEG" || res.Format == "PNG") && out.Len() > len(in) {
			t.Fatal("cleaning made the file larger")
		}
	})
}
