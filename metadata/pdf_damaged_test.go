package metadata_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/candour/candour/metadata"
)

// damagedPDFObjects are the objects of a two-page PDF whose pages each
// draw a line of text; damagedPDF replaces one of them with broken bytes.
func damagedPDFObjects() []string {
	st := func(s string) string { return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(s), s) }
	return []string{
		1: "<< /Type /Catalog /Pages 2 0 R >>",
		2: "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
		3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents 5 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
		4: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents 6 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
		5: st("BT /F1 18 Tf 20 200 Td (First page text) Tj ET"),
		6: st("BT /F1 18 Tf 20 200 Td (Second page words) Tj ET"),
		7: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
}

// damagedPDF writes objects as a PDF with a cross-reference table, the
// object numbered broken written as raw (its "N 0 obj" header included,
// with no endobj added) unless broken is 0. xrefShift moves every offset
// in the table by that many bytes.
func damagedPDF(objects []string, broken int, raw string, xrefShift int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offsets := make([]int, len(objects))
	for i := 1; i < len(objects); i++ {
		offsets[i] = b.Len()
		if i == broken {
			b.WriteString(raw)
			continue
		}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i, objects[i])
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", off+xrefShift)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects), xref)
	return b.Bytes()
}

// update appends to pdf an incremental update replacing object 4 with
// raw, as an editor saving a change would.
func update(pdf []byte, raw string) []byte {
	prev := bytes.LastIndex(pdf, []byte("startxref\n"))
	var start int
	fmt.Sscanf(string(pdf[prev+len("startxref\n"):]), "%d", &start)
	b := bytes.NewBuffer(slices.Clone(pdf))
	at := b.Len()
	b.WriteString(raw)
	xref := b.Len()
	fmt.Fprintf(b, "xref\n4 1\n%010d 00000 n \ntrailer\n<< /Size 8 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", at, start, xref)
	return b.Bytes()
}

// damagedPDFs are PDFs with one broken object each, among them the
// classes that pdfcpu's relaxed reader once replaced by an empty page
// while keeping the page count.
func damagedPDFs() map[string][]byte {
	o := damagedPDFObjects()
	page4 := o[4]
	withObj := func(n int, body string) []string {
		c := damagedPDFObjects()
		c[n] = body
		return c
	}
	return map[string][]byte{
		"undamaged":                          damagedPDF(o, 0, "", 0),
		"a page object without endobj":       damagedPDF(o, 4, "4 0 obj\n"+page4+"\n", 0),
		"the last object without endobj":     damagedPDF(o, 7, "7 0 obj\n"+o[7]+"\n", 0),
		"a page with an unterminated string": damagedPDF(o, 4, "4 0 obj\n"+strings.Replace(page4, "/Contents", "/T (abc /Contents", 1)+"\nendobj\n", 0),
		"a page nested too deeply": damagedPDF(o, 4, "4 0 obj\n"+strings.Replace(page4, "/Contents",
			"/X "+strings.Repeat("[", 120)+strings.Repeat("]", 120)+" /Contents", 1)+"\nendobj\n", 0),
		"a page dictionary not closed":                    damagedPDF(o, 4, "4 0 obj\n"+strings.TrimSuffix(page4, ">>")+"\nendobj\n", 0),
		"a page object with garbage":                      damagedPDF(o, 4, "4 0 obj\n<< /Type /Page ) ] >> >>\nendobj\n", 0),
		"a page object missing":                           damagedPDF(o, 4, "", 0),
		"a content stream too short":                      damagedPDF(o, 6, "6 0 obj\n<< /Length 5 >>\nstream\nBT /F1 18 Tf 20 200 Td (Second page words) Tj ET\nendstream\nendobj\n", 0),
		"a content stream too long":                       damagedPDF(o, 6, "6 0 obj\n<< /Length 500 >>\nstream\nBT /F1 18 Tf 20 200 Td (Second page words) Tj ET\nendstream\nendobj\n", 0),
		"a content stream without endstream":              damagedPDF(o, 6, "6 0 obj\n<< /Length 46 >>\nstream\nBT /F1 18 Tf 20 200 Td (Second page words) Tj ET\nendobj\n", 0),
		"a font object without endobj":                    damagedPDF(o, 7, "7 0 obj\n"+o[7]+"\n", 0),
		"a page referring to a missing font":              damagedPDF(withObj(4, strings.Replace(page4, "7 0 R", "9 0 R", 1)), 0, "", 0),
		"cross-reference offsets off by 3":                damagedPDF(o, 0, "", 3),
		"cross-reference offsets off by -2":               damagedPDF(o, 0, "", -2),
		"a page with a bad media box":                     damagedPDF(withObj(4, strings.Replace(page4, "[0 0 300 300]", "[0 0 300 (x)]", 1)), 0, "", 0),
		"contents referring to a missing object":          damagedPDF(withObj(4, strings.Replace(page4, "6 0 R", "9 0 R", 1)), 0, "", 0),
		"a contents array with a missing stream":          damagedPDF(withObj(4, strings.Replace(page4, "6 0 R", "[6 0 R 9 0 R]", 1)), 0, "", 0),
		"an update whose page has an unterminated string": update(damagedPDF(o, 0, "", 0), "4 0 obj\n"+strings.Replace(page4, "/Contents", "/T (abc /Contents", 1)+"\nendobj\n"),
		"an update whose page has no endobj":              update(damagedPDF(o, 0, "", 0), "4 0 obj\n"+page4+"\n"),
		"an update whose page is fine":                    update(damagedPDF(o, 0, "", 0), "4 0 obj\n"+strings.Replace(page4, "300 300", "300 250", 1)+"\nendobj\n"),
		"a content stream's object header damaged":        damagedPDF(o, 6, "6 0 \x00bj\n"+o[6]+"\nendobj\n", 0),
		"a page's object header damaged":                  damagedPDF(o, 4, "4 0 xbj\n"+page4+"\nendobj\n", 0),
		"a page kid that is not a page":                   damagedPDF(withObj(4, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"), 0, "", 0),
	}
}

// poppler runs a poppler-utils program, failing the test if it is not
// installed (make test installs it).
func poppler(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: install poppler-utils (make browser-deps does)", name)
	}
	out, _ := exec.Command(name, args...).Output() // a damaged original may make poppler complain
	return out
}

// popplerView returns what poppler shows of a PDF: its text, page by
// page, and its pages rendered as pictures.
func popplerView(t *testing.T, pdf []byte) (text string, pages [][]byte) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	text = string(poppler(t, "pdftotext", "-layout", in, "-"))
	poppler(t, "pdftoppm", "-r", "30", "-gray", in, filepath.Join(dir, "page"))
	files, _ := filepath.Glob(filepath.Join(dir, "page*.pgm"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, b)
	}
	return text, pages
}

// A damaged PDF is either refused or stored so that it shows what the
// reporter's file shows: the same text and the same pages, as poppler
// draws them.
func TestDamagedPDFsAreRefusedOrKeepWhatTheyShow(t *testing.T) {
	t.Parallel()
	for name, pdf := range damagedPDFs() {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(pdf))
			if err != nil {
				if !errors.Is(err, metadata.ErrMalformed) || res.Format != "PDF" {
					t.Fatalf("err = %v, result %+v, want ErrMalformed for a PDF", err, res)
				}
				if name == "undamaged" {
					t.Fatalf("an undamaged PDF was refused: %v", err)
				}
				t.Logf("refused: %v", err)
				return
			}
			wantText, wantPages := popplerView(t, pdf)
			gotText, gotPages := popplerView(t, out.Bytes())
			if gotText != wantText {
				t.Errorf("text after cleaning:\n%s\nbefore:\n%s", gotText, wantText)
			}
			if len(gotPages) != len(wantPages) {
				t.Fatalf("%d pages after cleaning, %d before", len(gotPages), len(wantPages))
			}
			for i := range gotPages {
				if !bytes.Equal(gotPages[i], wantPages[i]) {
					t.Errorf("page %d looks different after cleaning", i+1)
				}
			}
			if name == "undamaged" && !strings.Contains(gotText, "Second page words") {
				t.Errorf("text of the undamaged PDF: %q", gotText)
			}
		})
	}
}

// The classes of damage for which pdfcpu's relaxed reader used to put an
// empty page in place of the one it could not parse are refused.
func TestPDFsWithUnparsablePagesAreRefused(t *testing.T) {
	t.Parallel()
	all := damagedPDFs()
	for _, name := range []string{"a page object without endobj", "a page with an unterminated string", "a page nested too deeply"} {
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(all[name]))
		if !errors.Is(err, metadata.ErrMalformed) || res.Format != "PDF" {
			t.Errorf("%s: err = %v, result %+v, want ErrMalformed for a PDF", name, err, res)
		}
	}
}

// pdfcpu's module ships real PDFs from many producers (books, forms,
// annotations, scans): all are cleaned, none refused, and each shows the
// same text in poppler before and after.
func TestRealWorldPDFsAreCleanedWithTheSameText(t *testing.T) {
	t.Parallel()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pdfcpu/pdfcpu").Output()
	if err != nil {
		t.Fatalf("locating pdfcpu's module: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(dir)), "pkg", "testdata", "*.pdf"))
	if len(files) < 20 {
		t.Fatalf("only %d sample PDFs found", len(files))
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(in) > 4<<20 {
			continue
		}
		var out bytes.Buffer
		if _, err := metadata.Clean(&out, bytes.NewReader(in)); err != nil {
			t.Errorf("%s refused: %v", filepath.Base(f), err)
			continue
		}
		if len(in) > 1<<20 {
			continue
		}
		want := poppler(t, "pdftotext", "-layout", f, "-")
		cleaned := filepath.Join(t.TempDir(), "cleaned.pdf")
		if err := os.WriteFile(cleaned, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := poppler(t, "pdftotext", "-layout", cleaned, "-"); !bytes.Equal(got, want) {
			t.Errorf("%s: text differs after cleaning", filepath.Base(f))
		}
	}
}
