package metadata_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candour/candour/metadata"
)

// peakHeap runs f and returns about the most heap it had in use meanwhile.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return peak.Load()
}

func deflated(b []byte) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

// pdfWithXRefStream is a one-page PDF whose cross-reference stream has
// size entries (those beyond the real objects free), with the object
// streams given (each numbered from 10 up, listed in the table as holding
// object 1000+i).
func pdfWithXRefStream(size int, objStreams [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offsets := map[int]int{}
	for num := 1; num <= 3; num++ {
		offsets[num] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", num, []string{"",
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"}[num])
	}
	for i, s := range objStreams {
		offsets[10+i] = b.Len()
		b.WriteString(fmt.Sprintf("%d 0 obj\n", 10+i))
		b.Write(s)
		b.WriteString("\nendobj\n")
	}
	xref := max(size-1, 1000+len(objStreams))
	size = max(size, xref+1)
	var rows bytes.Buffer
	row := func(typ byte, f2 uint32, f3 uint16) {
		rows.WriteByte(typ)
		rows.Write(binary.BigEndian.AppendUint32(nil, f2))
		rows.Write(binary.BigEndian.AppendUint16(nil, f3))
	}
	at := b.Len()
	for num := range size {
		switch o, ok := offsets[num]; {
		case num == 0:
			row(0, 0, 65535)
		case ok:
			row(1, uint32(o), 0)
		case num >= 1000 && num < 1000+len(objStreams):
			row(2, uint32(10+num-1000), 0)
		case num == xref:
			row(1, uint32(at), 0)
		default:
			row(0, 0, 0)
		}
	}
	packed := deflated(rows.Bytes())
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n", xref, size, len(packed))
	b.Write(packed)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	return b.Bytes()
}

// An object stream that claims n objects, all at the same place: its
// prologue deflates to almost nothing.
func objectStream(n int) []byte {
	prolog := bytes.Repeat([]byte("5 0 "), n)
	packed := deflated(append(prolog, "null"...))
	return append(fmt.Appendf(nil, "<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n", n, len(prolog), len(packed)),
		append(packed, "\nendstream"...)...)
}

const pdfHeapCeiling = 512 << 20

// A cross-reference stream of a few kilobytes can declare millions of
// objects; pdfcpu keeps about 230 bytes for each.
func TestPDFWithMillionsOfTableEntriesDoesNotExhaustMemory(t *testing.T) {
	file := pdfWithXRefStream(9_000_000, nil)
	var err error
	peak := peakHeap(func() { _, err = metadata.Clean(&bytes.Buffer{}, bytes.NewReader(file)) })
	if err != nil && !errors.Is(err, metadata.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
	if peak > pdfHeapCeiling {
		t.Fatalf("a %d KiB PDF took %d MiB of memory to clean", len(file)>>10, peak>>20)
	}
}

// Object streams each claiming many objects: a few hundred bytes apiece,
// about 110 bytes of memory for each object claimed. Few streams of very
// many objects, or many of fewer (within any limit on one stream).
func TestPDFObjectStreamsDoNotExhaustMemory(t *testing.T) {
	for _, tc := range []struct{ streams, objects int }{{8, 1_000_000}, {400, 60_000}} {
		var streams [][]byte
		for range tc.streams {
			streams = append(streams, objectStream(tc.objects))
		}
		file := pdfWithXRefStream(0, streams)
		var err error
		peak := peakHeap(func() { _, err = metadata.Clean(&bytes.Buffer{}, bytes.NewReader(file)) })
		if err != nil && !errors.Is(err, metadata.ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
		t.Logf("%d object streams of %d objects: %d KiB file, %d MiB peak heap, err %v", tc.streams, tc.objects, len(file)>>10, peak>>20, err)
		if peak > pdfHeapCeiling {
			t.Fatalf("%d object streams of %d objects: a %d KiB PDF took %d MiB of memory to clean", tc.streams, tc.objects, len(file)>>10, peak>>20)
		}
	}
}

// One object numbered in the tens of millions, in a file of a few hundred
// bytes: pdfcpu writes a table entry for every number below it.
func TestPDFWithAHugeObjectNumberDoesNotExhaustMemory(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	const root = 30_000_000
	var offsets []int
	for _, obj := range []string{
		fmt.Sprintf("%d 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n", root),
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
		"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>\nendobj\n",
	} {
		offsets = append(offsets, b.Len())
		b.WriteString(obj)
	}
	at := b.Len()
	fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \n2 2\n%010d 00000 n \n%010d 00000 n \n%d 1\n%010d 00000 n \n", offsets[1], offsets[2], root, offsets[0])
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", root+1, root, at)
	file := b.Bytes()
	var err error
	peak := peakHeap(func() { _, err = metadata.Clean(&bytes.Buffer{}, bytes.NewReader(file)) })
	if err != nil && !errors.Is(err, metadata.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
	if peak > pdfHeapCeiling {
		t.Fatalf("a %d-byte PDF took %d MiB of memory to clean", len(file), peak>>20)
	}
}

// A JPEG picture in a PDF (an image with the DCTDecode filter) is the JPEG
// file itself, Exif included: what converting phone photos to PDF (img2pdf,
// many scanner apps and "print to PDF") produces. Its Exif and comments
// must go like those of a JPEG sent on its own, its pixels untouched.
func TestPDFEmbeddedJPEGLosesItsMetadata(t *testing.T) {
	t.Parallel()
	photo := taggedJPEG(t)
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 64 64] /Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >> >>",
		stream("", "q 64 0 0 64 0 0 cm /Im1 Do Q"),
		stream("/Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", photo),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offsets []int
	for i, o := range objects {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	at := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, at)

	// Also when the file is encrypted with only an owner password, and so
	// opens (and is written) without one.
	var encrypted bytes.Buffer
	if _, err := metadata.Clean(&encrypted, bytes.NewReader(encryptPDF(t, b.Bytes(), "", "owner secret"))); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(encrypted.Bytes(), []byte("Jane Doe")) {
		t.Fatal("the picture's Exif survived cleaning of the encrypted PDF")
	}

	var out bytes.Buffer
	res, err := metadata.Clean(&out, bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte("Jane Doe")) {
		t.Fatalf("the picture's Exif survived cleaning (%+v)", res)
	}
	// The picture itself is the same JPEG, without its metadata segments.
	var want bytes.Buffer
	if _, err := metadata.Clean(&want, strings.NewReader(photo)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), want.Bytes()) {
		t.Fatal("the cleaned PDF does not hold the cleaned picture")
	}
	if !slices.Contains(res.Removed, "hidden data in embedded pictures") {
		t.Fatalf("result = %+v", res)
	}
}
