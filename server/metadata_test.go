package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/metadata"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// taggedJPEG makes a JPEG carrying GPS, device and author metadata.
func taggedJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range 32 {
		img.Set(i, i, color.RGBA{255, 0, 0, 255})
	}
	var buf bytes.Buffer
	must(t, jpeg.Encode(&buf, img, nil))
	path := filepath.Join(t.TempDir(), "photo.jpg")
	must(t, os.WriteFile(path, buf.Bytes(), 0o600))
	exiftool, err := exec.LookPath("exiftool")
	if err != nil {
		t.Fatal("exiftool is not installed: run the tests with `make test`")
	}
	if out, err := exec.Command(exiftool, "-overwrite_original", "-GPSLatitude=51.5", "-GPSLatitudeRef=N",
		"-Make=ForcePhone", "-Artist=PC Jane Doe", path).CombinedOutput(); err != nil {
		t.Fatalf("exiftool: %v %s", err, out)
	}
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

func storedAttachment(t *testing.T, ts *testServer) (crypto.Attachment, []byte) {
	t.Helper()
	ctx := context.Background()
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 1)
	must(t, err)
	msgs, err := ts.DB.Messages(ctx, cases[0].ID)
	must(t, err)
	m, err := crypto.OpenMessage(msgs[0].Ciphertext, ts.OrgKey)
	must(t, err)
	_, r, err := ts.DB.Attachment(ctx, m.Attachments[0].ID)
	must(t, err)
	return m.Attachments[0], decryptAll(t, r, ts.OrgKey)
}

func TestPhotoMetadataIsRemovedBeforeStoring(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	photo := taggedJPEG(t)
	body, ctype := multipartBody([][2]string{{"body", "photo attached"}},
		[]file{{name: "IMG_0001.jpg", ctype: "image/jpeg", r: bytes.NewReader(photo)}})
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != 200 || !strings.Contains(page, "Hidden data removed before storing: Exif") {
		t.Fatalf("receipt does not say what was removed: %d", res.StatusCode)
	}
	meta, stored := storedAttachment(t, ts)
	for _, s := range []string{"ForcePhone", "Jane Doe", "Exif"} {
		if bytes.Contains(stored, []byte(s)) {
			t.Errorf("the stored photo still holds %q", s)
		}
	}
	sent := sha256.Sum256(photo)
	kept := sha256.Sum256(stored)
	if meta.OriginalSHA256 != hex.EncodeToString(sent[:]) || meta.SHA256 != hex.EncodeToString(kept[:]) || !meta.Cleaned {
		t.Errorf("attachment record = %+v", meta)
	}
	a, err := jpeg.Decode(bytes.NewReader(photo))
	must(t, err)
	b, err := jpeg.Decode(bytes.NewReader(stored))
	must(t, err)
	if a.At(5, 5) != b.At(5, 5) || a.At(5, 6) != b.At(5, 6) {
		t.Error("cleaning changed the picture")
	}
}

func TestReporterMayKeepTheOriginal(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	photo := taggedJPEG(t)
	body, ctype := multipartBody([][2]string{{"body", "the location is evidence"}, {"keep_originals", "yes"}},
		[]file{{name: "IMG_0002.jpg", ctype: "image/jpeg", r: bytes.NewReader(photo)}})
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != 200 || !strings.Contains(page, "hidden data included, as you asked") {
		t.Fatalf("receipt: %d", res.StatusCode)
	}
	meta, stored := storedAttachment(t, ts)
	if !bytes.Equal(stored, photo) || !meta.KeptOriginal || meta.OriginalSHA256 != "" {
		t.Fatalf("the original was not kept as sent: %+v", meta)
	}
}

func TestFilesTooLargeToCleanAreStoredWithAPlainNote(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *server.Config) { c.MaxCleanBytes = 4 << 10 })
	big := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("% filler\n"), 1000)...)
	body, ctype := multipartBody([][2]string{{"body", "a long PDF"}},
		[]file{{name: "statement.pdf", ctype: "application/pdf", r: bytes.NewReader(big)}})
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != 200 || !strings.Contains(page, "This PDF is larger than 4 KiB, the most this service can clean, so it is stored as you sent it") {
		t.Fatalf("receipt does not explain the file was not cleaned: %d", res.StatusCode)
	}
	meta, stored := storedAttachment(t, ts)
	if !bytes.Equal(stored, big) || meta.Cleaned || meta.Note == "" {
		t.Fatalf("attachment record = %+v", meta)
	}
}

// minimalPDF writes a one-page PDF with a line of text, with a correct
// cross-reference table.
func minimalPDF() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		"<< /Length 44 >>\nstream\nBT /F1 18 Tf 20 60 Td (Evidence text) Tj ET\nendstream",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func TestPDFAuthorIsRemovedBeforeStoring(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	path := filepath.Join(t.TempDir(), "statement.pdf")
	must(t, os.WriteFile(path, minimalPDF(), 0o600))
	exiftool, err := exec.LookPath("exiftool")
	if err != nil {
		t.Fatal("exiftool is not installed: run the tests with `make test`")
	}
	if out, err := exec.Command(exiftool, "-overwrite_original", "-Author=PC Jane Doe", "-Creator=ForceWord 9",
		"-XMP-dc:Creator=PC Jane Doe", path).CombinedOutput(); err != nil {
		t.Fatalf("exiftool: %v %s", err, out)
	}
	pdf, err := os.ReadFile(path)
	must(t, err)
	body, ctype := multipartBody([][2]string{{"body", "statement attached"}},
		[]file{{name: "statement.pdf", ctype: "application/pdf", r: bytes.NewReader(pdf)}})
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != 200 || !strings.Contains(page, "document properties (author, software, dates)") {
		t.Fatalf("receipt does not say what was removed: %d", res.StatusCode)
	}
	meta, stored := storedAttachment(t, ts)
	for _, s := range []string{"Jane Doe", "ForceWord"} {
		if bytes.Contains(stored, []byte(s)) {
			t.Errorf("the stored PDF still holds %q", s)
		}
	}
	if !bytes.Contains(stored, []byte("(Evidence text) Tj")) || !meta.Cleaned || meta.OriginalSHA256 == "" {
		t.Errorf("page content lost or record wrong: %+v", meta)
	}
}

// pageTreeBomb is a PDF of pages pages without a cross-reference table:
// a few megabytes that pdfcpu models in hundreds of megabytes.
func pageTreeBomb(pages int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [")
	for i := range pages {
		fmt.Fprintf(&b, "%d 0 R ", i+3)
	}
	fmt.Fprintf(&b, "] /Count %d >>\nendobj\n", pages)
	for i := range pages {
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>\nendobj\n", i+3)
	}
	b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

// A file whose cleaning process is stopped at its memory limit is refused
// with a page that says so (and what to do), nothing is stored, and the
// refusal is counted as its own kind, so that an operator sees a budget
// set too low.
func TestAFileTooComplexToCleanIsRefusedAndCounted(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *server.Config) {
		c.CleanMemory = metadata.MinMemoryBudget
		c.RefusalLogInterval = noBoundary
	})
	server.CountRefusalsExactly(ts.Srv)
	before := counts(t, ts.DB)
	body, ctype := multipartBody([][2]string{{"body", "the duty rota"}},
		[]file{{name: "rota.pdf", ctype: "application/pdf", r: bytes.NewReader(pageTreeBomb(200_000))}})
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "too complex for this service to clean safely") ||
		!strings.Contains(page, "Nothing was saved") || !strings.Contains(page, "Keep my files exactly as they are") {
		t.Fatalf("%d, want the page saying the file is too complex to clean:\n%s", res.StatusCode, page)
	}
	if after := counts(t, ts.DB); after != before {
		t.Errorf("rows %v became %v", before, after)
	}
	server.CloseRefusalInterval(ts.Srv)
	metrics := scrapeMetrics(t, ts.Srv)
	for _, want := range []string{`kind="cleaning_stopped"} 1`, `kind="malformed"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
}
