package metadata

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// checkPDFReadsStrictly reads data again with pdfcpu in strict mode,
// without validating it. In relaxed mode (which cleaning needs, as real
// files break the specification in many small ways) pdfcpu's reader
// skips an object it cannot parse and carries on with nothing in its
// place: a page object without endobj, with an unterminated string or
// nested too deeply becomes a missing page, which validation then
// replaces by an empty one, and the page count stays the same. pdfcpu
// records such repairs only in its process-wide log, so they cannot be
// told apart per file; its strict reader instead refuses any object it
// cannot parse. A file whose objects do not all parse strictly is
// treated as unreadable: storing it cleaned could store blank pages in
// place of evidence.
//
// The context it returns is the file as read, unvalidated (validation
// also edits: it drops empty Contents, unknown resource types), and so
// the reference for what each page shows.
func checkPDFReadsStrictly(data []byte) (*model.Context, error) {
	c, cancel := context.WithTimeout(context.Background(), pdfReadTimeout)
	defer cancel()
	exceeded := guardHeap(c, cancel, pdfHeapBudget(len(data)))
	conf := pdfConfig(len(data))
	conf.ValidationMode = model.ValidationStrict
	ctx, err := pdfcpu.ReadWithContext(c, bytes.NewReader(data), conf)
	cancel()
	if <-exceeded {
		return nil, malformed("PDF needs too much memory to read")
	}
	if err != nil {
		return nil, malformed("PDF has objects that could not be read")
	}
	return ctx, nil
}

// pageDigests returns a digest of what each page of ctx shows: the page
// dictionary (less its Parent) and the attributes it inherits from the
// page tree (Resources, MediaBox, CropBox, Rotate), with every object
// they refer to, streams by their raw bytes, followed to the end. The
// digest does not depend on object numbers, nor on whether an object is
// written in place or referred to, so a rewritten file that numbers its
// objects differently has the same digests.
//
// pageFrames is the same restricted to the page's content streams and its
// MediaBox, CropBox and Rotate, inherited or not: what pdfcpu's relaxed
// validation must leave as it found it. (It makes harmless edits
// elsewhere, such as adding /Subtype /Image to a picture that lacks it,
// or writing in place an array that was referred to.)
func pageDigests(ctx *model.Context) ([][32]byte, error) { return digestPages(ctx, false) }

func pageFrames(ctx *model.Context) ([][32]byte, error) { return digestPages(ctx, true) }

var frameKeys = []string{"Contents", "MediaBox", "CropBox", "Rotate"}

func digestPages(ctx *model.Context, frame bool) ([][32]byte, error) {
	d := &pdfDigester{ctx: ctx, memo: map[int][]byte{}}
	inherited := []string{"Resources", "MediaBox", "CropBox", "Rotate"}
	if frame {
		inherited = frameKeys[1:]
	}
	out := make([][32]byte, 0, ctx.PageCount)
	for i := 1; i <= ctx.PageCount; i++ {
		page, ref, _, err := ctx.PageDict(i, false)
		if err != nil || page == nil || ref == nil {
			return nil, fmt.Errorf("page %d not found", i)
		}
		h := sha256.New()
		if frame {
			own := types.Dict{}
			for _, k := range frameKeys {
				if v, ok := page[k]; ok {
					own[k] = v
				}
			}
			h.Write(d.value(own, 0))
		} else {
			h.Write(d.object(*ref, 0))
		}
		// Inherited attributes, from the nearest ancestor out.
		parent := page["Parent"]
		for depth := 0; parent != nil && depth < 64; depth++ {
			pr, ok := parent.(types.IndirectRef)
			if !ok {
				break
			}
			o, err := ctx.Dereference(pr)
			node, ok := o.(types.Dict)
			if err != nil || !ok {
				break
			}
			for _, k := range inherited {
				if v, ok := node[k]; ok {
					fmt.Fprintf(h, "|%d/%s=", depth, k)
					h.Write(d.child(v, 0))
				}
			}
			parent = node["Parent"]
		}
		var sum [32]byte
		h.Sum(sum[:0])
		out = append(out, sum)
	}
	if d.failed {
		return nil, fmt.Errorf("page objects too deep to compare, or a picture unreadable")
	}
	return out, nil
}

type pdfDigester struct {
	ctx    *model.Context
	memo   map[int][]byte // digest of each indirect object visited
	failed bool
}

// object returns the digest of the indirect object ref refers to. An
// object met again while its own digest is being made (a cycle, such as
// an annotation's /P back to its page) counts as a fixed marker.
func (d *pdfDigester) object(ref types.IndirectRef, depth int) []byte {
	n := ref.ObjectNumber.Value()
	if m, ok := d.memo[n]; ok {
		return m
	}
	d.memo[n] = []byte("cycle")
	o, err := d.ctx.Dereference(ref)
	var v []byte
	if err != nil {
		v = []byte("unreadable")
	} else {
		v = d.value(o, depth+1)
	}
	sum := sha256.Sum256(v)
	d.memo[n] = sum[:]
	return sum[:]
}

// child returns what stands for o inside a dictionary or array: the
// digest of an object, whether it is written there or referred to (pdfcpu
// writes some referred objects in place, and validation does too), and
// simple values as they are.
func (d *pdfDigester) child(o types.Object, depth int) []byte {
	switch o := o.(type) {
	case types.IndirectRef:
		return d.object(o, depth)
	case types.Dict, types.StreamDict, types.Array:
		sum := sha256.Sum256(d.value(o, depth+1))
		return sum[:]
	}
	return d.value(o, depth+1)
}

// value serializes o, with the digests of the objects inside it.
func (d *pdfDigester) value(o types.Object, depth int) []byte {
	if depth > 1000 {
		d.failed = true
		return nil
	}
	var b bytes.Buffer
	switch o := o.(type) {
	case nil:
		b.WriteString("null")
	case types.IndirectRef:
		b.Write(d.object(o, depth))
	case types.Dict:
		d.dict(&b, o, depth, true)
	case types.StreamDict:
		b.WriteString("stream")
		d.dict(&b, o.Dict, depth, false)
		raw := o.Raw
		if len(o.FilterPipeline) == 1 && o.FilterPipeline[0].Name == filter.DCT {
			// A JPEG picture, as cleanPDFJPEG leaves it: without the
			// segments that cleaning removes (again, to no effect, in
			// the written file).
			var jpeg bytes.Buffer
			if _, err := cleanJPEG(&jpeg, bufio.NewReader(bytes.NewReader(raw))); err != nil {
				d.failed = true
			}
			raw = jpeg.Bytes()
		}
		b.WriteString(strconv.Itoa(len(raw)))
		b.WriteByte(':')
		b.Write(raw)
	case types.Array:
		b.WriteByte('[')
		for _, e := range o {
			b.Write(d.child(e, depth+1))
			b.WriteByte(',')
		}
		b.WriteByte(']')
	default:
		s := o.PDFString()
		fmt.Fprintf(&b, "%T:%d:%s", o, len(s), s)
	}
	return b.Bytes()
}

// dict serializes a dictionary by sorted key, leaving out the page
// tree's Parent links and the metadata that cleaning removes. In a
// stream's dictionary, Length is the stream's own length, which the
// raw bytes carry.
func (d *pdfDigester) dict(b *bytes.Buffer, o types.Dict, depth int, plain bool) {
	keys := make([]string, 0, len(o))
	for k := range o {
		if _, meta := metadataKeys[k]; meta || k == "Parent" || (!plain && k == "Length") {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString("<<")
	for _, k := range keys {
		fmt.Fprintf(b, "%d:%s=", len(k), k)
		b.Write(d.child(o[k], depth+1))
		b.WriteByte(';')
	}
	b.WriteString(">>")
}

// rawLength matches a Length entry as written: a number, or a reference.
var rawLength = regexp.MustCompile(`/Length[\x00\t\n\f\r ]+([0-9]+)(?:[\x00\t\n\f\r ]+([0-9]+)[\x00\t\n\f\r ]+R)?`)

// rawStreamLength returns the Length of the stream whose object starts at
// offset in data and whose data starts at streamOffset, as written in the
// file (pdfcpu's own copy of it is the length of the decrypted data in an
// encrypted file), or -1 if the dictionary has no single Length entry.
func rawStreamLength(ctx *model.Context, data []byte, offset *int64, streamOffset int64) int64 {
	if offset == nil || *offset < 0 || *offset >= streamOffset || streamOffset > int64(len(data)) {
		return -1
	}
	m := rawLength.FindAllSubmatch(data[*offset:streamOffset], -1)
	if len(m) != 1 {
		return -1
	}
	n, err := strconv.ParseInt(string(m[0][1]), 10, 64)
	if err != nil {
		return -1
	}
	if m[0][2] == nil {
		return n
	}
	// A reference: an integer object, which encryption leaves as it is.
	i, err := ctx.DereferenceInteger(types.IndirectRef{ObjectNumber: types.Integer(n), GenerationNumber: types.Integer(atoi(m[0][2]))})
	if err != nil || i == nil {
		return -1
	}
	return int64(i.Value())
}

func atoi(b []byte) int {
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return -1
	}
	return n
}

// checkPDFStreamLengths makes sure that every stream ctx read from data
// ends where its Length says, just before endstream. pdfcpu takes the
// Length as given: one too short cuts a page's content stream, which
// readers such as poppler draw in full by looking for endstream, so the
// cleaned copy would show less than the reporter's file.
func checkPDFStreamLengths(ctx *model.Context, data []byte) error {
	for _, e := range ctx.Table {
		if e == nil || e.Free || e.Compressed {
			continue
		}
		sd, ok := e.Object.(types.StreamDict)
		if !ok {
			continue
		}
		n := rawStreamLength(ctx, data, e.Offset, sd.StreamOffset)
		if n < 0 || sd.StreamOffset <= 0 || sd.StreamOffset+n > int64(len(data)) {
			return malformed("PDF has a stream of unknown length")
		}
		rest := bytes.TrimLeft(data[sd.StreamOffset+n:], "\r\n\t\f \x00")
		if !bytes.HasPrefix(rest, []byte("endstream")) {
			return malformed("PDF has a stream whose length is wrong")
		}
	}
	return nil
}

// countPages counts the leaves of ctx's page tree by following its Kids,
// as readers that ignore /Count do, or returns -1 if the tree is not a
// tree (a node met twice, an entry that is not a dictionary) or deeper
// than readers go.
func countPages(ctx *model.Context) int {
	root, err := ctx.Catalog()
	if err != nil {
		return -1
	}
	seen := map[int]bool{}
	var walk func(o types.Object, depth int) int
	walk = func(o types.Object, depth int) int {
		ref, ok := o.(types.IndirectRef)
		if !ok || depth > 64 || seen[ref.ObjectNumber.Value()] {
			return -1
		}
		seen[ref.ObjectNumber.Value()] = true
		d, err := ctx.DereferenceDict(ref)
		if err != nil || d == nil {
			return -1
		}
		kids, ok := d["Kids"]
		if !ok {
			return 1
		}
		a, err := ctx.DereferenceArray(kids)
		if err != nil {
			return -1
		}
		n := 0
		for _, k := range a {
			c := walk(k, depth+1)
			if c < 0 {
				return -1
			}
			n += c
		}
		return n
	}
	return walk(root["Pages"], 0)
}

// objHeader matches the start of an indirect object: "N G obj".
var objHeader = regexp.MustCompile(`^[\x00\t\n\f\r ]*([0-9]+)[\x00\t\n\f\r ]+([0-9]+)[\x00\t\n\f\r ]+obj`)

// checkPDFObjectHeaders makes sure that every object ctx read from data
// outside an object stream starts, where the cross-reference data put
// it, with its own "N G obj" header. pdfcpu's reader is lenient there
// (it read "9 0 \x00bj" as object 9); readers such as poppler are not,
// and the cleaned copy would then show what the reporter's file does not.
func checkPDFObjectHeaders(ctx *model.Context, data []byte) error {
	for n, e := range ctx.Table {
		if e == nil || e.Free || e.Compressed || e.Offset == nil || n == 0 {
			continue
		}
		off := *e.Offset + ctx.Read.RepairOffset
		if off < 0 || off >= int64(len(data)) {
			return malformed("PDF has an object outside the file")
		}
		m := objHeader.FindSubmatch(data[off:min(int64(len(data)), off+64)])
		if m == nil || atoi(m[1]) != n || e.Generation == nil || atoi(m[2]) != *e.Generation {
			return malformed("PDF has an object whose header is damaged")
		}
	}
	return nil
}
