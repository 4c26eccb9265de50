package metadata_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/candour/candour/metadata"
)

// cjpeg encodes img with Debian's cjpeg and the given options (progressive
// scans, restart markers: what cameras and editors write and Go's encoder
// does not).
func cjpeg(t *testing.T, img image.Image, opts ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("cjpeg")
	if err != nil {
		t.Fatal("cjpeg is not installed: run the tests with `make test`, which installs Debian's libjpeg-turbo-progs")
	}
	b := img.Bounds()
	var ppm bytes.Buffer
	fmt.Fprintf(&ppm, "P6\n%d %d\n255\n", b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			ppm.Write([]byte{byte(r >> 8), byte(g >> 8), byte(bl >> 8)})
		}
	}
	cmd := exec.Command(bin, opts...)
	cmd.Stdin = &ppm
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cjpeg: %v", err)
	}
	return out
}

// djpeg decodes a JPEG to PPM with Debian's djpeg.
func djpeg(t *testing.T, data []byte) []byte {
	t.Helper()
	cmd := exec.Command("djpeg")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("djpeg: %v", err)
	}
	return out
}

func TestJPEGScansAndRestartsAreKept(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]string{{"-progressive"}, {"-restart", "1"}, {"-progressive", "-restart", "1"}} {
		t.Run(fmt.Sprint(opts), func(t *testing.T) {
			orig := cjpeg(t, testImage(), opts...)
			path := filepath.Join(t.TempDir(), "photo.jpg")
			os.WriteFile(path, orig, 0o600)
			tag(t, path)
			tagged, _ := os.ReadFile(path)
			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(tagged))
			if err != nil || !slices.Contains(res.Removed, "Exif (camera, settings, GPS position, time)") {
				t.Fatalf("res %+v, err %v", res, err)
			}
			// Decoded by libjpeg (Go's decoder refuses progressive scans
			// with restart markers): the same pixels, byte for byte.
			if !bytes.Equal(djpeg(t, orig), djpeg(t, out.Bytes())) {
				t.Fatal("the picture changed")
			}
			if bytes.Contains(out.Bytes(), []byte("Jane Doe")) {
				t.Fatal("identifying text survived")
			}
		})
	}
}

func TestDataAfterThePicturesEndIsDropped(t *testing.T) {
	t.Parallel()
	// What phones append after the end marker: a motion-photo video with
	// its own metadata, a second image, capture details.
	trailer := []byte("ftypmp42 ... GPS 51.5007,-0.1246 ... SEFT capture time 2026:11:23 21:04:05")
	var jp bytes.Buffer
	jpeg.Encode(&jp, testImage(), nil)
	var pn bytes.Buffer
	png.Encode(&pn, testImage())
	for name, picture := range map[string][]byte{"JPEG": jp.Bytes(), "PNG": pn.Bytes()} {
		t.Run(name, func(t *testing.T) {
			in := append(slices.Clone(picture), trailer...)
			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), picture) {
				t.Fatalf("output is not the picture alone (%d bytes, picture %d)", out.Len(), len(picture))
			}
			if len(res.Removed) != 1 || res.Removed[0] != "data after the end of the picture (such as a motion-photo video, a second image or an uncropped remainder)" {
				t.Fatalf("removed %v", res.Removed)
			}
		})
	}
	// Without a trailer, nothing is reported.
	var out bytes.Buffer
	if res, err := metadata.Clean(&out, bytes.NewReader(jp.Bytes())); err != nil || len(res.Removed) != 0 || !bytes.Equal(out.Bytes(), jp.Bytes()) {
		t.Fatalf("a plain JPEG: %+v %v", res, err)
	}
}
