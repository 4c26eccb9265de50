package metadata_test

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/candour/candour/metadata"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// pdfPageText is the text drawn on each page of the test PDF.
var pdfPageText = []string{"Misconduct evidence, page one", "Page two: the chat export"}

// handmadePDF returns a two-page PDF written out by hand, with every kind
// of metadata the cleaner removes: a document information dictionary with
// a custom entry, XMP on the catalog, on a page and on an image, and
// application private data (PieceInfo, LastModified) on the catalog and a
// page. Streams are not compressed, so the strings can be seen in it.
func handmadePDF() []byte {
	xmp := func(who string) string {
		x := `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
			`<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>` + who +
			`</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
		return stream("/Type /Metadata /Subtype /XML", x)
	}
	objects := []string{
		1: "<< /Type /Catalog /Pages 2 0 R /Metadata 9 0 R /PieceInfo << /ForcePhoneNotes << /LastModified (D:20240301101500Z) /Private (draft by PC Jane Doe) >> >> >>",
		2: "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
		3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R " +
			"/Resources << /Font << /F1 7 0 R >> /XObject << /Im1 8 0 R >> >> " +
			"/Metadata 10 0 R /LastModified (D:20240301101500Z) /PieceInfo << /ForcePhoneNotes << /LastModified (D:20240301101500Z) /Private (ForcePhone page notes) >> >> >>",
		4:  "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 6 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
		5:  stream("", "BT /F1 18 Tf 72 760 Td ("+pdfPageText[0]+") Tj ET q 40 0 0 40 72 600 cm /Im1 Do Q"),
		6:  stream("", "BT /F1 18 Tf 72 760 Td ("+pdfPageText[1]+") Tj ET"),
		7:  "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		8:  stream("/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 /Metadata 11 0 R", "\x00\x80\xc0\xff"),
		9:  xmp("PC Jane Doe"),
		10: xmp("ForcePhone page editor"),
		11: xmp("ForcePhone camera SERIAL123456"),
		12: "<< /Author (PC Jane Doe) /Creator (ForcePhone Notes) /Producer (ForcePhone PDF 9) /CreationDate (D:20240301101500Z) /SourceDevice (ForcePhone SERIAL123456) >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i := 1; i < len(objects); i++ {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i, objects[i])
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 12 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>] >>\nstartxref\n%d\n%%%%EOF\n",
		len(objects), xref)
	return b.Bytes()
}

func stream(dict, data string) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// tagPDF edits the PDF's metadata with exiftool, as a reporter's office
// software would. exiftool appends its changes as an incremental update,
// so what it replaces stays in the file as an earlier revision.
func tagPDF(tb testing.TB, pdf []byte) []byte {
	tb.Helper()
	exiftool, err := exec.LookPath("exiftool")
	if err != nil {
		tb.Fatal("exiftool is not installed: run the tests with `make test`, which installs Debian's libimage-exiftool-perl")
	}
	path := filepath.Join(tb.TempDir(), "tagged.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(exiftool, "-overwrite_original",
		"-PDF:Author=Anonymous", "-PDF:Creator=ForcePhone Notes 2", "-PDF:Producer=ForcePhone PDF 9.1",
		"-PDF:Title=Complaint about shift 7", "-PDF:Keywords=ForcePhone",
		"-XMP-dc:Creator=PC Jane Doe", "-XMP-xmp:CreatorTool=ForcePhone Notes 2", path).CombinedOutput()
	if err != nil {
		tb.Fatalf("exiftool: %v %s", err, out)
	}
	tagged, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return tagged
}

// pdfIdentifying are the strings the test PDFs hide in their metadata.
var pdfIdentifying = []string{"Jane Doe", "ForcePhone", "SERIAL123456", "Complaint about shift", "Anonymous", "20240301"}

var (
	streamData = regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`)
	pdfDate    = regexp.MustCompile(`D:\d{8}`)
)

// pdfText returns the bytes of a PDF followed by the inflated contents of
// its compressed streams, so that a string hidden in an object stream is
// found too.
func pdfText(pdf []byte) string {
	var b strings.Builder
	b.Write(pdf)
	for _, m := range streamData.FindAllSubmatch(pdf, -1) {
		r, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue
		}
		io.Copy(&b, r) // a truncated stream still gives what it has
	}
	return b.String()
}

// pdfcpuConfig reads PDFs in the tests without pdfcpu's default
// configuration, which would create a config directory in $HOME.
func pdfcpuConfig() *model.Configuration {
	return &model.Configuration{
		Reader15:          true,
		ValidationMode:    model.ValidationRelaxed,
		Eol:               types.EolLF,
		WriteObjectStream: true,
		WriteXRefStream:   true,
		Offline:           true,
		Limits:            model.DefaultResourceLimits(),
	}
}

// pageContents returns the decoded content stream of every page.
func pageContents(tb testing.TB, pdf []byte) []string {
	tb.Helper()
	ctx, err := api.ReadAndValidate(bytes.NewReader(pdf), pdfcpuConfig())
	if err != nil {
		tb.Fatalf("pdfcpu cannot read the PDF: %v", err)
	}
	var pages []string
	for i := 1; i <= ctx.PageCount; i++ {
		r, err := pdfcpu.ExtractPageContent(ctx, i)
		if err != nil {
			tb.Fatalf("page %d: %v", i, err)
		}
		b, _ := io.ReadAll(r)
		pages = append(pages, string(b))
	}
	return pages
}

func mustCleanPDF(tb testing.TB, in []byte) ([]byte, metadata.Result) {
	tb.Helper()
	var out bytes.Buffer
	res, err := metadata.Clean(&out, bytes.NewReader(in))
	if err != nil {
		tb.Fatalf("cleaning failed: %v", err)
	}
	return out.Bytes(), res
}

// optimizePDF rewrites the PDF with pdfcpu, which compresses its objects
// into object streams and writes an xref stream: the structure of most
// PDFs made since 2005.
func optimizePDF(tb testing.TB, pdf []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	if err := api.Optimize(bytes.NewReader(pdf), &out, pdfcpuConfig()); err != nil {
		tb.Fatalf("optimize: %v", err)
	}
	return out.Bytes()
}

func encryptPDF(tb testing.TB, pdf []byte, userPassword, ownerPassword string) []byte {
	tb.Helper()
	conf := pdfcpuConfig()
	conf.UserPW, conf.OwnerPW = userPassword, ownerPassword
	conf.EncryptUsingAES, conf.EncryptKeyLength = true, 256
	conf.Permissions = model.PermissionsNone
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(pdf), &out, conf); err != nil {
		tb.Fatalf("encrypt: %v", err)
	}
	return out.Bytes()
}

func TestPDFCleaningRemovesMetadataAndEarlierVersions(t *testing.T) {
	t.Parallel()
	tagged := tagPDF(t, handmadePDF())
	before := tags(t, tagged)
	for _, s := range []string{"Jane Doe", "ForcePhone", "Complaint about shift 7", "Anonymous"} {
		if !strings.Contains(before, s) {
			t.Fatalf("the test file lacks %q before cleaning: %s", s, before)
		}
	}
	// exiftool replaced the Author: the original is only in the earlier
	// revision, where readers no longer look but anyone can.
	if exiftoolTags(t, before)["PDF:Author"] != "Anonymous" || !bytes.Contains(tagged, []byte("/Author (PC Jane Doe)")) ||
		bytes.Count(tagged, []byte("%%EOF")) != 2 {
		t.Fatalf("exiftool did not add an incremental update as expected: %s", before)
	}

	out, res := mustCleanPDF(t, tagged)
	want := []string{
		"earlier versions of the document",
		"document properties (author, software, dates)",
		"XMP metadata",
		"application private data",
		"file identifier (links copies of the file)",
	}
	if res.Format != "PDF" || res.Note != "" || !sameSet(res.Removed, want) {
		t.Errorf("result = %+v, want Removed %q", res, want)
	}
	all := pdfText(out)
	for _, s := range pdfIdentifying {
		if strings.Contains(all, s) {
			t.Errorf("%q survived cleaning", s)
		}
	}
	if id := "0123456789ABCDEF"; !bytes.Contains(tagged, []byte(id)) || strings.Contains(all, id) {
		t.Error("the original file identifier survived cleaning")
	}
	after := tags(t, out)
	for _, s := range pdfIdentifying {
		if strings.Contains(after, s) {
			t.Errorf("exiftool still finds %q: %s", s, after)
		}
	}
	// pdfcpu puts its name and the time of writing into every file it
	// writes; the time would date the submission.
	if strings.Contains(all, "pdfcpu") || pdfDate.MatchString(all) {
		t.Errorf("the cleaned file names its writer or a date: %s", after)
	}
	for _, tag := range metadataTags(t, after) {
		t.Errorf("exiftool finds %s in the cleaned file: %s", tag, after)
	}
}

// exiftoolTags parses the output of the tags helper.
func exiftoolTags(t *testing.T, exiftoolJSON string) map[string]any {
	t.Helper()
	var v []map[string]any
	if err := json.Unmarshal([]byte(exiftoolJSON), &v); err != nil || len(v) != 1 {
		t.Fatalf("exiftool output %s: %v", exiftoolJSON, err)
	}
	return v[0]
}

// metadataTags returns the tags in exiftool's JSON output that come from
// the file's metadata: all but the file system's, exiftool's own and the
// PDF's structure.
func metadataTags(t *testing.T, exiftoolJSON string) []string {
	t.Helper()
	var found []string
	for tag := range exiftoolTags(t, exiftoolJSON) {
		group, _, _ := strings.Cut(tag, ":")
		switch {
		case tag == "SourceFile", group == "ExifTool", group == "File", group == "System":
		case tag == "PDF:PDFVersion", tag == "PDF:Linearized", tag == "PDF:PageCount":
		default:
			found = append(found, tag)
		}
	}
	return found
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestPDFCleaningKeepsPagesAndText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pdf  []byte
	}{
		{"a file written by hand", handmadePDF()},
		{"a file edited by exiftool", tagPDF(t, handmadePDF())},
		{"a file with object and xref streams", optimizePDF(t, handmadePDF())},
		{"a PDF 2.0 file", bytes.Replace(handmadePDF(), []byte("%PDF-1.7"), []byte("%PDF-2.0"), 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := mustCleanPDF(t, tc.pdf)
			if all := pdfText(out); strings.Contains(all, "pdfcpu") || pdfDate.MatchString(all) {
				t.Errorf("the cleaned file names its writer or a date")
			}
			before, after := pageContents(t, tc.pdf), pageContents(t, out)
			if len(before) != 2 || !slices.Equal(before, after) {
				t.Fatalf("pages before cleaning:\n%q\nafter:\n%q", before, after)
			}
			for i, text := range pdfPageText {
				if !strings.Contains(after[i], "("+text+") Tj") {
					t.Errorf("page %d lost its text: %q", i+1, after[i])
				}
			}
		})
	}
}

func TestPasswordProtectedPDFIsStoredUnchanged(t *testing.T) {
	t.Parallel()
	in := encryptPDF(t, handmadePDF(), "open sesame", "owner secret")
	var out bytes.Buffer
	res, err := metadata.Clean(&out, bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if res.Cleaned() || !strings.Contains(res.Note, "password-protected") || !bytes.Equal(out.Bytes(), in) {
		t.Fatalf("result %+v, changed %v", res, !bytes.Equal(out.Bytes(), in))
	}
}

// A PDF with only an owner password opens without one: its restrictions
// (no printing, no copying) hide nothing, so it is cleaned like any other.
func TestPDFWithOnlyAnOwnerPasswordIsCleaned(t *testing.T) {
	t.Parallel()
	in := encryptPDF(t, handmadePDF(), "", "owner secret")
	if before := tags(t, in); !strings.Contains(before, "Jane Doe") || !strings.Contains(before, "Encryption") {
		t.Fatalf("the test file is not encrypted with its metadata readable: %s", before)
	}
	out, res := mustCleanPDF(t, in)
	if !slices.Contains(res.Removed, "document properties (author, software, dates)") ||
		!slices.Contains(res.Removed, "copy and print restrictions (the file needed no password to open)") {
		t.Errorf("result = %+v", res)
	}
	all := pdfText(out)
	for _, s := range pdfIdentifying {
		if strings.Contains(all, s) {
			t.Errorf("%q survived cleaning", s)
		}
	}
	if after := tags(t, out); strings.Contains(after, "Jane Doe") || strings.Contains(after, "Encryption") {
		t.Errorf("exiftool finds metadata or encryption: %s", after)
	}
	if before, after := pageContents(t, in), pageContents(t, out); !slices.Equal(before, after) {
		t.Errorf("pages before cleaning:\n%q\nafter:\n%q", before, after)
	}
}

func TestBrokenPDFsAreRefused(t *testing.T) {
	t.Parallel()
	good := handmadePDF()
	xref := bytes.LastIndex(good, []byte("xref"))
	for _, tc := range []struct {
		name string
		pdf  []byte
	}{
		{"a header and nothing else", []byte("%PDF-1.7\n")},
		{"a header and text", []byte("%PDF-1.7 not really a PDF")},
		{"a header and binary noise", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0x00, 0xff, 0x7f}, 500)...)},
		{"a file cut in its first object", good[:40]},
		{"a trailer pointing nowhere", []byte("%PDF-1.7\ntrailer\n<< /Root 1 0 R /Size 2 >>\nstartxref\n999999\n%%EOF\n")},
		{"a catalog without pages", []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Root 1 0 R /Size 2 >>\nstartxref\n44\n%%EOF\n")},
		{"a file cut in the middle", good[:len(good)/2]},
		{"a file cut before its cross-reference table", good[:xref]},
		// Found by FuzzCleanPDF: pdfcpu rebuilds the missing cross-reference
		// table, then gives the cross-reference stream it writes the number
		// of the missing object 8, so the page's image is that stream.
		{"a file that pdfcpu rewrites into one it cannot read", []byte("%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 2 0 R >endobj\n2 0 obj<<///Kids[3 0 R4 0 R]/Count 2>>endobj\n" +
			"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 5 2]/Resources<</<>/XObject<</ 8 0 R>>>>>>\nendobj\n4 0 obj%%EOF")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(tc.pdf))
			if !errors.Is(err, metadata.ErrMalformed) || res.Format != "PDF" {
				t.Fatalf("err = %v, result %+v, want ErrMalformed for a PDF", err, res)
			}
		})
	}
}

// pdfcpu's default configuration creates a directory with a config file,
// fonts and certificates in the user's config directory; the server must
// write nothing outside its data directory.
func TestPDFCleaningWritesNoFiles(t *testing.T) {
	tagged := tagPDF(t, handmadePDF())
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("TMPDIR", dir)
	mustCleanPDF(t, tagged)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("cleaning wrote %s", e.Name())
	}
}

func TestPDFWithoutMetadataHasNothingRemoved(t *testing.T) {
	t.Parallel()
	pdf := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>\nendobj\n")
	xref := len(pdf)
	pdf = fmt.Appendf(pdf, "xref\n0 4\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \ntrailer\n<< /Root 1 0 R /Size 4 >>\nstartxref\n%d\n%%%%EOF\n",
		bytes.Index(pdf, []byte("1 0 obj")), bytes.Index(pdf, []byte("2 0 obj")), bytes.Index(pdf, []byte("3 0 obj")), xref)
	out, res := mustCleanPDF(t, pdf)
	if res.Format != "PDF" || len(res.Removed) != 0 || res.Note != "" {
		t.Errorf("result = %+v", res)
	}
	if n := len(pageContents(t, out)); n != 1 {
		t.Errorf("%d pages after cleaning, want 1", n)
	}
}

func FuzzCleanPDF(f *testing.F) {
	handmade := handmadePDF()
	f.Add(handmade)
	f.Add(tagPDF(f, handmade))
	f.Add(optimizePDF(f, handmade))
	f.Add(encryptPDF(f, handmade, "", "owner secret"))
	f.Add(encryptPDF(f, handmade, "open sesame", "owner secret"))
	for _, pdf := range damagedPDFs() {
		f.Add(pdf)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !bytes.HasPrefix(in, []byte("%PDF-")) {
			return // another format's cleaner
		}
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(in))
		switch {
		case err != nil:
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
		case res.Note != "":
			if res.Cleaned() || !bytes.Equal(out.Bytes(), in) {
				t.Fatalf("a file passed through with a note was changed: %+v", res)
			}
		default:
			if res.Format != "PDF" {
				t.Fatalf("result = %+v", res)
			}
			before, err := api.ReadAndValidate(bytes.NewReader(in), pdfcpuConfig())
			if err != nil {
				t.Fatalf("a PDF that pdfcpu cannot read was cleaned: %v", err)
			}
			after, err := api.ReadAndValidate(bytes.NewReader(out.Bytes()), pdfcpuConfig())
			if err != nil {
				t.Fatalf("the cleaned PDF does not read back: %v", err)
			}
			if after.PageCount != before.PageCount {
				t.Fatalf("%d pages before cleaning, %d after", before.PageCount, after.PageCount)
			}
			// Every page draws what it drew: its content streams, byte
			// for byte.
			if b, a := pageContentDigests(t, before), pageContentDigests(t, after); !slices.Equal(b, a) {
				t.Fatalf("page content streams changed by cleaning:\n%x\n%x", b, a)
			}
			// pdfcpu's relaxed reader puts nothing in place of an object it
			// cannot parse (a page then becomes an empty one, in both
			// reads above): a cleaned file is one its strict reader reads.
			strict := pdfcpuConfig()
			strict.ValidationMode = model.ValidationStrict
			if _, err := api.ReadContext(bytes.NewReader(in), strict); err != nil {
				t.Fatalf("a PDF with objects pdfcpu skips was cleaned: %v", err)
			}
		}
	})
}

// pageContentDigests returns the SHA-256 of each page's content streams,
// as they are stored (before decoding).
func pageContentDigests(t *testing.T, ctx *model.Context) [][32]byte {
	t.Helper()
	var sums [][32]byte
	for i := 1; i <= ctx.PageCount; i++ {
		d, _, _, err := ctx.PageDict(i, false)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		h := sha256.New()
		var streams []types.Object
		switch c := d["Contents"].(type) {
		case types.Array:
			streams = c
		case nil:
		default:
			streams = []types.Object{c}
		}
		for _, o := range streams {
			sd, _, err := ctx.DereferenceStreamDict(o)
			if err != nil || sd == nil {
				fmt.Fprintf(h, "missing;")
				continue
			}
			fmt.Fprintf(h, "%d:%s;", len(sd.Raw), sd.Raw)
		}
		var sum [32]byte
		h.Sum(sum[:0])
		sums = append(sums, sum)
	}
	return sums
}

// The server cleans two files at once: pdfcpu must keep no shared state.
func TestPDFsAreCleanedConcurrently(t *testing.T) {
	t.Parallel()
	pdfs := [][]byte{handmadePDF(), tagPDF(t, handmadePDF()), optimizePDF(t, handmadePDF()), encryptPDF(t, handmadePDF(), "", "owner secret")}
	cleaner := metadata.NewCleaner(0, len(pdfs))
	var wg sync.WaitGroup
	for _, pdf := range pdfs {
		wg.Go(func() {
			for range 5 {
				if _, err := cleaner.Clean(io.Discard, bytes.NewReader(pdf)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
