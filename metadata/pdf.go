package metadata

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"runtime/metrics"
	"slices"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

func isPDF(head []byte) bool { return bytes.HasPrefix(head, []byte("%PDF-")) }

// pdfPasswordNote is what the reporter is told when a PDF cannot be opened
// without its password.
const pdfPasswordNote = "This PDF is password-protected, so its hidden data (author, software, dates) could not be removed: it is stored as you sent it"

// pdfConfig is pdfcpu's configuration for cleaning. It is built here
// rather than by model.NewDefaultConfiguration or api.LoadConfiguration:
// those create a "pdfcpu" directory with a config file, fonts and
// certificates under os.UserConfigDir on first use, and the server must
// not write outside its data directory. api.DisableConfigDir would avoid
// that too, but by setting a variable for the whole process. Given a
// configuration, pdfcpu's read, validate and write never look for that
// directory, nor go online (Offline, no link checking).
//
// size is the length of the file to be read.
func pdfConfig(size int) *model.Configuration {
	limits := model.DefaultResourceLimits()
	// pdfcpu's defaults allow 512 MiB per stream; an upload is at most
	// DefaultMaxBuffered, and a small file that inflates to gigabytes
	// must not take the server's memory.
	limits.MaxStreamBytes = DefaultMaxBuffered
	limits.MaxDecodeBytes = 4 * DefaultMaxBuffered
	limits.MaxImageBytes = 4 * DefaultMaxBuffered
	// pdfcpu keeps a few hundred bytes for every object a cross-reference
	// stream declares, and about a hundred for every object an object
	// stream lists, whether or not the object is there; millions of either
	// fit in a few kilobytes of deflated data. Real files hold far fewer
	// objects than a quarter of their size in bytes (one per hundred bytes
	// is a lot). The heap guard in readPDF bounds what remains: many object
	// streams that each list many objects.
	objects := pdfObjectLimit(size)
	limits.MaxObjectCount, limits.MaxXRefEntries = objects, objects
	limits.MaxObjectStreamCount = objects
	limits.MaxObjectStreamFirst = 1 << 20
	return &model.Configuration{
		Reader15:          true, // object and xref streams, as PDF 1.5 and later use
		ValidationMode:    model.ValidationRelaxed,
		Eol:               types.EolLF,
		WriteObjectStream: true,
		WriteXRefStream:   true,
		Offline:           true,
		Limits:            limits,
	}
}

// cleanPDF rewrites the PDF from its current object graph without the
// document properties (Info), XMP metadata, application private data and
// file identifier. Rewriting also drops the file's earlier revisions: an
// incremental update (as exiftool and many editors make) appends the
// changed objects and leaves the old ones in place, where anyone can read
// them. Page content streams, fonts and images are copied as they are.
//
// A PDF that needs a password to open is stored unchanged, with a Note.
// One that pdfcpu cannot read strictly (see checkPDFReadsStrictly), whose
// streams do not end where their Length says, or that it cannot write so
// that it reads back with every page the same (see pageDigests), gives
// an error wrapping ErrMalformed, with Format "PDF" so that the
// reporter can be told what the file looked like.
func cleanPDF(w io.Writer, data []byte) (Result, error) {
	out, res, err := rewritePDF(data)
	if errors.Is(err, pdfcpu.ErrWrongPassword) {
		_, err := w.Write(data)
		return Result{Note: pdfPasswordNote}, err
	}
	if err != nil {
		return Result{Format: "PDF"}, err
	}
	_, err = w.Write(out)
	return res, err
}

// rewritePDF returns the cleaned file. pdfcpu panics on some hostile
// input; a panic is turned into ErrMalformed. The errors name the step
// that failed but leave out pdfcpu's message, which can quote the
// file's contents: errors go to logs.
func rewritePDF(data []byte) (out []byte, res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, res, err = nil, Result{}, malformed("PDF reader failed")
		}
	}()
	// pdfcpu rebuilds a file that was cut short from what is left of it,
	// but what is lost may be pages: storing a silently shortened copy as
	// evidence is worse than refusing it. Readers look for the marker in
	// the last 1024 bytes.
	if !bytes.Contains(data[max(0, len(data)-1024):], []byte("%%EOF")) {
		return nil, Result{}, malformed("PDF is cut short: no end-of-file marker")
	}
	ctx, err := readPDF(data)
	if err != nil {
		return nil, Result{}, err
	}
	raw, err := checkPDFReadsStrictly(data)
	if err != nil {
		return nil, Result{}, err
	}
	if err := checkPDFStreamLengths(ctx, data); err != nil {
		return nil, Result{}, err
	}
	if err := checkPDFObjectHeaders(raw, data); err != nil {
		return nil, Result{}, err
	}
	// Each page's content streams and frame (MediaBox, CropBox, Rotate),
	// as strictly read from the file, must be as relaxed validation left
	// them; and what each page shows after validation (content streams,
	// every resource and annotation they use), less the metadata removed,
	// must be what the written file shows, byte for byte.
	// The same pages, too: relaxed validation could drop one.
	if countPages(raw) != ctx.PageCount {
		return nil, Result{}, malformed("PDF pages were repaired on reading")
	}
	raw.PageCount = ctx.PageCount
	rawFrames, err := pageFrames(raw)
	if err != nil {
		return nil, Result{}, malformed("PDF pages could not be compared")
	}
	if frames, err := pageFrames(ctx); err != nil || !slices.Equal(rawFrames, frames) {
		return nil, Result{}, malformed("PDF pages were repaired on reading")
	}
	before, err := pageDigests(ctx)
	if err != nil {
		return nil, Result{}, malformed("PDF pages could not be compared")
	}
	if res, err = scrubPDF(ctx, data); err != nil {
		return nil, Result{}, err
	}
	if out, err = writePDF(ctx, len(data)); err != nil {
		return nil, Result{}, err
	}
	// pdfcpu can write a file that does not read back, for example by
	// giving its cross-reference stream the number of a missing object
	// that a page still refers to. A broken copy must not be stored in
	// place of the evidence.
	check, err := readPDF(out)
	if err != nil {
		return nil, Result{}, malformed("PDF could not be rewritten faithfully")
	}
	after, err := pageDigests(check)
	if err != nil || !slices.Equal(before, after) {
		return nil, Result{}, malformed("PDF could not be rewritten faithfully")
	}
	return out, res, nil
}

// readPDF parses and validates a PDF. An error wraps ErrMalformed, or is
// pdfcpu.ErrWrongPassword when the file needs a password to open.
func readPDF(data []byte) (*model.Context, error) {
	c, cancel := context.WithTimeout(context.Background(), pdfReadTimeout)
	defer cancel()
	exceeded := guardHeap(c, cancel, pdfHeapBudget(len(data)))
	ctx, err := pdfcpu.ReadWithContext(c, bytes.NewReader(data), pdfConfig(len(data)))
	cancel()
	if <-exceeded {
		return nil, malformed("PDF needs too much memory to read")
	}
	if errors.Is(err, pdfcpu.ErrWrongPassword) {
		return nil, err
	}
	if err != nil {
		return nil, malformed("PDF could not be read")
	}
	// pdfcpu writes a table entry for every object number up to the
	// highest: one object numbered in the millions (which a repaired file
	// can have whatever the limits above) would cost as many entries.
	if ctx.MaxObjNr >= pdfObjectLimit(len(data)) {
		return nil, malformed("PDF numbers its objects up to %d", ctx.MaxObjNr)
	}
	if err := api.ValidateContext(ctx); err != nil {
		return nil, malformed("PDF structure is invalid")
	}
	return ctx, nil
}

// pdfObjectLimit is the highest number of objects, and of object number,
// accepted in a PDF of size bytes (see pdfConfig).
func pdfObjectLimit(size int) int { return min(max(size/4, 1<<16), 1<<20) }

// pdfReadTimeout bounds the time pdfcpu may take to read one file (a
// few seconds for the largest real ones).
const pdfReadTimeout = 2 * time.Minute

// pdfHeapBudget is how much the heap may grow while a PDF of size bytes is
// read: real files need a few times their size.
func pdfHeapBudget(size int) uint64 { return 256<<20 + 8*uint64(size) }

// guardHeap cancels, until c ends, when the process's live heap has grown
// by more than budget bytes since the call, and then sends true (false if
// c ended otherwise). pdfcpu has no overall memory limit of its own, and a
// few kilobytes of file can make it allocate gigabytes; it checks c often
// while it reads. The live heap is measured at each garbage collection
// (which an allocating reader triggers often), so garbage does not count;
// it is the whole process's, so a read can be stopped by others' use of
// memory at the same time: the budget is far above what real files need.
func guardHeap(c context.Context, cancel func(), budget uint64) <-chan bool {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	exceeded := make(chan bool, 1)
	go func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-c.Done():
				exceeded <- false
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Uint64() > base+budget {
				cancel()
				exceeded <- true
				return
			}
		}
	}()
	return exceeded
}

// scrubPDF removes the metadata from ctx, read from data, and says what
// it found. An error means a JPEG picture in it could not be cleaned.
func scrubPDF(ctx *model.Context, data []byte) (Result, error) {
	res := Result{Format: "PDF"}
	if earlierRevisions(data, ctx.Read.Linearized) {
		res.remove("earlier versions of the document")
	}
	if ctx.Info != nil {
		if d, err := ctx.DereferenceDict(*ctx.Info); err == nil && len(d) > 0 {
			res.remove("document properties (author, software, dates)")
		}
		ctx.Info = nil
	}
	for _, e := range ctx.Table {
		if e == nil || e.Free {
			continue
		}
		scrubObject(e.Object, &res, 0)
		if sd, ok := e.Object.(types.StreamDict); ok && len(sd.FilterPipeline) == 1 && sd.FilterPipeline[0].Name == filter.DCT {
			cleaned, err := cleanPDFJPEG(sd, &res)
			if err != nil {
				return res, err
			}
			e.Object = cleaned
		}
	}
	if ctx.AdditionalStreams != nil {
		// Streams listed in the trailer outside the specification: an
		// application's own data, nothing a reader shows.
		ctx.AdditionalStreams = nil
		res.remove("application private data")
	}
	if ctx.Encrypt != nil {
		// The file opened without a password, so anyone can decrypt it:
		// its encryption only carries an owner password's restrictions
		// (no printing, no copying). It is written decrypted, because
		// encrypting again would need the original file identifier, from
		// which the key is derived.
		ctx.Encrypt, ctx.EncKey = nil, nil
		res.remove("copy and print restrictions (the file needed no password to open)")
	}
	if len(ctx.ID) > 0 {
		res.remove("file identifier (links copies of the file)")
	}
	// Without an ID pdfcpu makes a fresh one, two equal hex strings that
	// writePDF then replaces.
	ctx.ID = nil
	return res, nil
}

// cleanPDFJPEG removes the metadata from a picture whose only filter is
// DCTDecode: its stream is a JPEG file, with whatever Exif (GPS position,
// camera, time) and comments the photo had, which converting photos to a
// PDF often keeps. The picture's data is copied unchanged, as for a JPEG
// sent on its own; a PDF reader ignores the segments removed.
func cleanPDFJPEG(sd types.StreamDict, res *Result) (types.StreamDict, error) {
	var out bytes.Buffer
	out.Grow(len(sd.Raw))
	jres, err := cleanJPEG(&out, bufio.NewReader(bytes.NewReader(sd.Raw)))
	if err != nil {
		return sd, malformed("PDF holds a JPEG picture that could not be cleaned")
	}
	if len(jres.Removed) == 0 {
		return sd, nil
	}
	res.remove(removedPictures)
	sd.Raw = out.Bytes()
	n := int64(len(sd.Raw))
	sd.StreamLength = &n
	sd.Update("Length", types.Integer(n))
	return sd, nil
}

// metadataKeys are the dictionary entries that describe a document, page
// or image rather than being part of it, and what the reporter is told.
var metadataKeys = map[string]string{
	"Metadata":     "XMP metadata",
	"PieceInfo":    "application private data",
	"LastModified": "application private data", // the date of the PieceInfo
}

// scrubObject deletes metadataKeys from o and from the dictionaries and
// arrays written inside it. Indirect objects are each reached through the
// table, so references are not followed. pdfcpu's parser bounds nesting;
// depth keeps it bounded here.
func scrubObject(o types.Object, res *Result, depth int) {
	if depth > 100 {
		return
	}
	var d types.Dict
	switch o := o.(type) {
	case types.Dict:
		d = o
	case types.StreamDict:
		d = o.Dict
	case types.Array:
		for _, e := range o {
			scrubObject(e, res, depth+1)
		}
		return
	default:
		return
	}
	for k, v := range d {
		if what, ok := metadataKeys[k]; ok {
			delete(d, k)
			res.remove(what)
			continue
		}
		scrubObject(v, res, depth+1)
	}
}

// earlierRevisions reports whether the file has been updated
// incrementally: each update ends with its own end-of-file marker. A
// linearized file has one more, after its first page's section. (A PDF
// attached uncompressed inside another counts too; it only makes the
// reporter's list of removals one item too long.)
func earlierRevisions(data []byte, linearized bool) bool {
	n := bytes.Count(data, []byte("%%EOF"))
	if linearized {
		n--
	}
	return n > 1
}

// writePDF writes ctx, about sizeHint bytes, then undoes in place what
// pdfcpu adds to every file it writes, which no configuration turns off:
//
//   - A document information dictionary with Producer "pdfcpu <version>"
//     and CreationDate and ModDate set to the current time, which would
//     date the reporter's submission to the second. Its entries are
//     overwritten with spaces, leaving an empty dictionary.
//   - A file identifier (the trailer's /ID) hashed from the current time
//     and the file's size. It is replaced by a random one, so it links
//     the file to nothing; readers expect one, and PDF 2.0 requires it.
//
// Both edits keep every byte offset, so the cross-reference table that
// locates the objects stays valid.
func writePDF(ctx *model.Context, sizeHint int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(sizeHint) // rather than doubling up to a copy of a large file
	if err := api.WriteContext(ctx, &buf); err != nil {
		return nil, malformed("PDF could not be rewritten")
	}
	out := buf.Bytes()
	if ctx.Info != nil {
		if err := blankInfo(out, ctx.Write.Table[ctx.Info.ObjectNumber.Value()]); err != nil {
			return nil, err
		}
	}
	if err := randomizeID(out, ctx.ID); err != nil {
		return nil, err
	}
	return out, nil
}

// errUnexpectedOutput means that pdfcpu did not write what writePDF
// removes the way it always does, which only an unusual file can cause.
var errUnexpectedOutput = malformed("PDF could not be rewritten as expected")

// blankInfo overwrites with spaces the entries of the Info dictionary
// that pdfcpu wrote at offset, uncompressed.
func blankInfo(out []byte, offset int64) error {
	if offset <= 0 || offset >= int64(len(out)) {
		return errUnexpectedOutput
	}
	obj := out[offset:]
	end := bytes.Index(obj, []byte("endobj"))
	if end < 0 {
		return errUnexpectedOutput
	}
	obj = obj[:end]
	open, closing := bytes.Index(obj, []byte("<<")), bytes.LastIndex(obj, []byte(">>"))
	if open < 0 || closing < open || !bytes.Contains(obj[open:closing], []byte("/Producer")) {
		return errUnexpectedOutput
	}
	for i := open + 2; i < closing; i++ {
		obj[i] = ' '
	}
	return nil
}

// randomizeID replaces id where pdfcpu wrote it last, in the trailer or
// the cross-reference stream's dictionary, with a random identifier of
// the same length.
func randomizeID(out []byte, id types.Array) error {
	written := []byte(id.PDFString())
	i := bytes.LastIndex(out, written)
	if len(id) != 2 || i < 0 {
		return errUnexpectedOutput
	}
	h, ok := id[0].(types.HexLiteral)
	if !ok {
		return errUnexpectedOutput
	}
	r := make([]byte, len(h)/2)
	rand.Read(r) // never fails: the program would crash instead
	fresh := types.HexLiteral(strings.ToUpper(hex.EncodeToString(r)))
	replacement := types.Array{fresh, fresh}.PDFString()
	if len(replacement) != len(written) {
		return errUnexpectedOutput
	}
	copy(out[i:], replacement)
	return nil
}
