package metadata_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/webp"

	"github.com/candour/candour/metadata"
)

// debianTool finds a command the tests need, or fails saying how to get it.
func debianTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run the tests with `make test`, which installs Debian's %s", name, pkg)
	}
	return p
}

// encodeWithTool writes img as a PNG, runs the encoder tool on it with
// args, in which {in} and {out} stand for the input and output paths, and
// returns what it wrote.
func encodeWithTool(t *testing.T, img image.Image, tool string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	paths := strings.NewReplacer("{in}", in, "{out}", out)
	var argv []string
	for _, a := range args {
		argv = append(argv, paths.Replace(a))
	}
	if msg, err := exec.Command(tool, argv...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v %s", filepath.Base(tool), err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tagged returns data after exiftool has written identifying metadata into
// it, having checked that exiftool reads that metadata back.
func tagged(t *testing.T, data []byte) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "photo")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tag(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before := tags(t, data)
	for _, s := range identifying[:4] {
		if !strings.Contains(before, s) {
			t.Fatalf("the test file lacks %q before cleaning: %s", s, before)
		}
	}
	return data
}

// checkNothingIdentifying fails if exiftool finds identifying metadata in
// data, or finds the file damaged.
func checkNothingIdentifying(t *testing.T, data []byte) {
	t.Helper()
	after := tags(t, data)
	for _, s := range identifying {
		if strings.Contains(after, s) {
			t.Errorf("%q survived cleaning: %s", s, after)
		}
	}
	if strings.Contains(after, "Warning") || strings.Contains(after, "Error") {
		t.Errorf("exiftool finds fault with the cleaned file: %s", after)
	}
}

// checkSamePixels fails unless a and b are the same picture.
func checkSamePixels(t *testing.T, a, b image.Image) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("bounds changed from %v to %v", a.Bounds(), b.Bounds())
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.RGBA64Model.Convert(a.At(x, y)) != color.RGBA64Model.Convert(b.At(x, y)) {
				t.Fatalf("pixel (%d,%d) changed", x, y)
			}
		}
	}
}

// riffChunk is one chunk of a RIFF file, all its bytes (header and pad
// byte included) in raw.
type riffChunk struct {
	fourCC string
	raw    []byte
}

// readRIFF splits a WebP into its chunks, checking the sizes as a reader
// would; it is written apart from the cleaner, to check it.
func readRIFF(data []byte) ([]riffChunk, error) {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return nil, errors.New("not a RIFF WEBP file")
	}
	if n := binary.LittleEndian.Uint32(data[4:]); int64(n) != int64(len(data))-8 {
		return nil, fmt.Errorf("RIFF size %d in a file of %d bytes", n, len(data))
	}
	var chunks []riffChunk
	for rest := data[12:]; len(rest) > 0; {
		if len(rest) < 8 {
			return nil, errors.New("chunk header cut short")
		}
		n := int64(binary.LittleEndian.Uint32(rest[4:]))
		n += 8 + n%2
		if n > int64(len(rest)) {
			return nil, fmt.Errorf("chunk %q runs past the end", rest[:4])
		}
		chunks = append(chunks, riffChunk{string(rest[:4]), rest[:n]})
		rest = rest[n:]
	}
	return chunks, nil
}

// withoutMetadata is what cleaning should leave of chunks: those that make
// the picture, with the VP8X flags for Exif and XMP cleared.
func withoutMetadata(chunks []riffChunk) []riffChunk {
	var kept []riffChunk
	for _, c := range chunks {
		switch c.fourCC {
		case "VP8X":
			raw := bytes.Clone(c.raw)
			raw[8] &^= 0x08 | 0x04
			c.raw = raw
		case "VP8 ", "VP8L", "ALPH", "ANIM", "ANMF", "ICCP":
		default:
			continue
		}
		kept = append(kept, c)
	}
	return kept
}

func sameChunks(a, b []riffChunk) bool {
	return slices.EqualFunc(a, b, func(x, y riffChunk) bool { return bytes.Equal(x.raw, y.raw) })
}

// translucentImage is testImage with an alpha gradient, so that a lossy
// WebP of it has an ALPH chunk.
func translucentImage() image.Image {
	src := testImage()
	img := image.NewNRGBA(src.Bounds())
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			c := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
			c.A = uint8(255 - x*3)
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func TestWebPCleaningRemovesIdentifyingMetadataAndKeepsPixels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		img         image.Image
		args        []string
		imageChunks []string
	}{
		{"lossless", testImage(), []string{"-quiet", "-lossless", "{in}", "-o", "{out}"}, []string{"VP8L"}},
		{"lossy with alpha", translucentImage(), []string{"-quiet", "-q", "80", "{in}", "-o", "{out}"}, []string{"VP8 ", "ALPH"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			original := encodeWithTool(t, tc.img, debianTool(t, "cwebp", "webp"), tc.args...)
			// exiftool writes EXIF and XMP chunks; it also reads RIFF's
			// own metadata, in a LIST INFO chunk, which the test adds.
			dirty := withChunk(tagged(t, original),
				webpChunk("LIST", slices.Concat([]byte("INFO"), webpChunk("ICMT", []byte("sent from work phone\x00")))))

			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(dirty))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"Exif (camera, settings, GPS position, time)",
				"XMP (editing history, author, location)",
				"other embedded data (such as artist, comments, dates)",
			}
			if res.Format != "WebP" || !slices.Equal(slices.Sorted(slices.Values(res.Removed)), want) {
				t.Fatalf("result = %+v", res)
			}
			clean := out.Bytes()
			checkNothingIdentifying(t, clean)

			dirtyChunks, err := readRIFF(dirty)
			if err != nil {
				t.Fatalf("exiftool's file: %v", err)
			}
			cleanChunks, err := readRIFF(clean)
			if err != nil {
				t.Fatalf("the cleaned file is not a valid RIFF: %v", err)
			}
			if !sameChunks(cleanChunks, withoutMetadata(dirtyChunks)) {
				t.Errorf("chunks changed beyond the metadata and its flags")
			}
			originalChunks, _ := readRIFF(original)
			for _, fourCC := range tc.imageChunks {
				i := slices.IndexFunc(originalChunks, func(c riffChunk) bool { return c.fourCC == fourCC })
				j := slices.IndexFunc(cleanChunks, func(c riffChunk) bool { return c.fourCC == fourCC })
				if i < 0 || j < 0 || !bytes.Equal(originalChunks[i].raw, cleanChunks[j].raw) {
					t.Errorf("the %q chunk is not the encoder's, byte for byte", fourCC)
				}
			}

			a, err := webp.Decode(bytes.NewReader(dirty))
			if err != nil {
				t.Fatal(err)
			}
			b, err := webp.Decode(bytes.NewReader(clean))
			if err != nil {
				t.Fatalf("the cleaned file no longer decodes: %v", err)
			}
			checkSamePixels(t, a, b)
		})
	}
}

// withChunk returns the WebP data with chunk added at its end.
func withChunk(data, chunk []byte) []byte {
	data = slices.Concat(data, chunk)
	binary.LittleEndian.PutUint32(data[4:8], uint32(len(data)-8))
	return data
}

// webpChunk is a RIFF chunk with its pad byte.
func webpChunk(fourCC string, body []byte) []byte {
	c := binary.LittleEndian.AppendUint32([]byte(fourCC), uint32(len(body)))
	c = append(c, body...)
	if len(body)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

// webpFile wraps raw chunks in a RIFF header with the right size.
func webpFile(chunks ...[]byte) []byte {
	body := slices.Concat(chunks...)
	f := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(body)))
	return append(append(f, "WEBP"...), body...)
}

// vp8x is a VP8X chunk for a 64×48 canvas with the given flags.
func vp8x(flags byte) []byte {
	return webpChunk("VP8X", []byte{flags, 0, 0, 0, 63, 0, 0, 47, 0, 0})
}

// Chunks of hand-made WebPs. The image payloads are not real images: only
// the container matters. Odd sizes test the pad bytes.
var (
	webpVP8L    = webpChunk("VP8L", []byte("\x2f\x3f\xc0\x2f\x00pixels"))
	webpICCP    = webpChunk("ICCP", []byte("icc"))
	webpEXIF    = webpChunk("EXIF", []byte("MM\x00\x2a\x00\x00\x00\x08ForcePhone"))
	webpXMP     = webpChunk("XMP ", []byte("<x:xmpmeta>Jane Doe</x:xmpmeta>"))
	webpLIST    = webpChunk("LIST", slices.Concat([]byte("INFO"), webpChunk("IART", []byte("PC Jane Doe\x00"))))
	webpUnknown = webpChunk("ZZZZ", []byte("odd"))
	webpANIM    = webpChunk("ANIM", []byte{0, 0, 0, 0, 0, 0})
	webpANMF    = webpChunk("ANMF", slices.Concat(make([]byte, 16), webpChunk("VP8 ", []byte("frame"))))
)

// webpFlagsAll are the VP8X flags for an ICC profile, Exif, XMP and
// animation.
const webpFlagsAll = 0x20 | 0x08 | 0x04 | 0x02

// handMadeWebP is a still image with a colour profile and metadata chunks
// of every kind: Exif, XMP, RIFF INFO and one nobody knows.
func handMadeWebP() []byte {
	return webpFile(vp8x(0x20|0x08|0x04), webpICCP, webpVP8L, webpEXIF, webpUnknown, webpXMP, webpLIST)
}

func TestWebPCleaningKeepsThePictureByteForByte(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      []byte
		want    []byte
		removed int
	}{
		{"a still image with a colour profile", handMadeWebP(), webpFile(vp8x(0x20), webpICCP, webpVP8L), 3},
		{"an animation", webpFile(vp8x(webpFlagsAll), webpICCP, webpANIM, webpANMF, webpEXIF, webpANMF, webpXMP),
			webpFile(vp8x(webpFlagsAll&^(0x08|0x04)), webpICCP, webpANIM, webpANMF, webpANMF), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Removed) != tc.removed {
				t.Errorf("removed %q, want %d kinds", res.Removed, tc.removed)
			}
			if !bytes.Equal(out.Bytes(), tc.want) {
				t.Errorf("cleaned\n%q\nwant\n%q", out.Bytes(), tc.want)
			}
		})
	}
}

func TestWebPWithoutMetadataIsUnchanged(t *testing.T) {
	t.Parallel()
	in := webpFile(vp8x(0x20), webpICCP, webpVP8L)
	var out bytes.Buffer
	res, err := metadata.Clean(&out, bytes.NewReader(in))
	if err != nil || res.Format != "WebP" || len(res.Removed) != 0 || !bytes.Equal(out.Bytes(), in) {
		t.Fatalf("res %+v, err %v, changed %v", res, err, !bytes.Equal(out.Bytes(), in))
	}
}

// withRIFFSize returns data with its RIFF size field set to size.
func withRIFFSize(data []byte, size int) []byte {
	data = bytes.Clone(data)
	binary.LittleEndian.PutUint32(data[4:8], uint32(size))
	return data
}

func TestMalformedWebPIsRefused(t *testing.T) {
	t.Parallel()
	valid := handMadeWebP()
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"with no chunks", webpFile()},
		{"whose RIFF size exceeds the file", withRIFFSize(valid, len(valid))},
		{"whose RIFF size falls short of the file", withRIFFSize(valid, len(valid)-10)},
		{"with bytes after its last chunk", append(bytes.Clone(valid), "junk"...)},
		{"whose chunk runs past the end", webpFile(webpVP8L, []byte("EXIF\x64\x00\x00\x00abcd"))},
		{"whose chunk claims nearly 4 GiB", webpFile(webpVP8L, []byte("EXIF\xff\xff\xff\xffabcd"))},
		{"whose last chunk header is cut short", webpFile(webpVP8L, []byte("EXIF"))},
		{"whose odd-sized last chunk lacks its pad byte", webpFile(webpVP8L, []byte("ZZZZ\x03\x00\x00\x00odd"))},
		{"that does not start with an image header", webpFile(webpChunk("EXIF", []byte("x")), webpVP8L)},
		{"whose VP8X chunk is too short", webpFile(webpChunk("VP8X", []byte{0x08, 0, 0, 0}), webpVP8L)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(tc.in))
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("cut anywhere", func(t *testing.T) {
		for cut := 12; cut < len(valid); cut++ {
			_, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(valid[:cut]))
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatalf("cut at %d: err = %v, want ErrMalformed", cut, err)
			}
		}
	})
}

func FuzzCleanWebP(f *testing.F) {
	f.Add(handMadeWebP())
	f.Add(webpFile(webpChunk("VP8 ", []byte("frame")), webpChunk("EXIF", []byte("e"))))
	f.Add(webpFile(vp8x(webpFlagsAll), webpICCP, webpANIM, webpANMF, webpEXIF, webpANMF, webpXMP))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 12 || string(in[:4]) != "RIFF" || string(in[8:12]) != "WEBP" {
			return // not a WebP: FuzzClean covers what happens then
		}
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(in))
		if res.Format != "WebP" {
			t.Fatalf("a WebP was taken for %q", res.Format)
		}
		if err != nil {
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			return
		}
		inChunks, err := readRIFF(in)
		if err != nil {
			t.Fatalf("a WebP the test cannot read was cleaned: %v", err)
		}
		outChunks, err := readRIFF(out.Bytes())
		if err != nil {
			t.Fatalf("the cleaned file is not a valid RIFF: %v", err)
		}
		if !sameChunks(outChunks, withoutMetadata(inChunks)) {
			t.Fatal("chunks changed beyond the metadata and its flags")
		}
	})
}
