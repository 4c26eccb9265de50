// Package metadata removes identifying metadata from evidence files as they
// stream in, before they are encrypted, so that the identifying original is
// never stored. A photo's GPS position, the phone's make, model and serial,
// the author of a document: any of these can identify a reporter.
//
// Cleaning is done at the container level: metadata segments, chunks and
// parts are dropped or emptied and everything else is copied byte for byte,
// so a picture's pixels and a document's text are untouched (no image is
// re-encoded). A PDF is the one format rewritten: pdfcpu writes its object
// graph anew, without the document properties, XMP, application data and
// earlier revisions, while page content streams, fonts and images are
// copied unchanged.
//
// Two kinds of format:
//   - Streamed, any size, memory bounded: JPEG (drops APP1 Exif/XMP, APP13
//     IPTC/Photoshop, COM and other application segments) and PNG (drops
//     tEXt, zTXt, iTXt, eXIf, tIME).
//   - Read whole, because their structure points backwards or their index
//     sits at the end: PDF, Office documents (docx, xlsx, pptx, odt, ods,
//     odp), WebP and HEIF/HEIC/AVIF. These are cleaned in memory up to
//     Cleaner.MaxBuffered bytes; a larger file is passed through untouched
//     and Result.Note says so plainly.
//
// Every other type passes through unchanged, and Result says so.
package metadata

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Result says what Clean did to one file.
type Result struct {
	// Format names the type that was cleaned ("JPEG", "PDF", "Word
	// document"...), or is "" when the file was stored as it came.
	Format string
	// Removed names what was dropped, e.g. "Exif (camera, GPS)".
	Removed []string
	// Note explains, in a sentence for the reporter, why a recognised file
	// was not cleaned (for example: too large to clean). Empty otherwise.
	Note string
	// work counts the steps of the loops that hostile input could make
	// quadratic (bytes overwritten in HEIF, attributes looked at in
	// Office XML), so that tests can check that the work grows with the
	// file's size and no faster, without timing it.
	work int
}

// Cleaned reports whether the file's format was understood and cleaned
// (possibly with nothing to remove).
func (r Result) Cleaned() bool { return r.Format != "" }

// ErrMalformed means the file claimed a format it does not follow; the
// upload should be refused rather than stored half-cleaned.
var ErrMalformed = errors.New("malformed file")

// malformed wraps ErrMalformed with a reason, for logs and tests.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// What a photo's metadata gives away, as the reporter is told. JPEG, WebP
// and HEIF carry the same Exif and XMP blocks.
const (
	removedExif = "Exif (camera, settings, GPS position, time)"
	removedXMP  = "XMP (editing history, author, location)"
)

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// DefaultMaxBuffered is how large a file that must be read whole (PDF,
// Office, WebP, HEIF) can be and still be cleaned.
const DefaultMaxBuffered = 32 << 20

// A Cleaner cleans files, holding at most MaxBuffered bytes of one file in
// memory, and cleaning at most a fixed number of read-whole files at once,
// so that memory stays bounded however many uploads arrive together.
type Cleaner struct {
	// MaxBuffered is the largest read-whole file that is cleaned; larger
	// ones pass through untouched, with a Note.
	MaxBuffered int64
	slots       chan struct{}
	// isolated, when set, cleans read-whole files in child processes
	// instead of with slots in this one (see NewIsolatedCleaner).
	isolated *isolated
}

// NewCleaner returns a Cleaner that cleans files of up to maxBuffered
// bytes in memory, concurrent of them at a time, in this process. A
// server cleaning what strangers send uses NewIsolatedCleaner instead.
func NewCleaner(maxBuffered int64, concurrent int) *Cleaner {
	if maxBuffered <= 0 {
		maxBuffered = DefaultMaxBuffered
	}
	if concurrent <= 0 {
		concurrent = 2
	}
	return &Cleaner{MaxBuffered: maxBuffered, slots: make(chan struct{}, concurrent)}
}

var defaultCleaner = NewCleaner(DefaultMaxBuffered, 2)

// Clean copies r to w with the default limits; see Cleaner.Clean.
func Clean(w io.Writer, r io.Reader) (Result, error) {
	return defaultCleaner.Clean(w, r)
}

// wholeFormat is a format that is cleaned in memory.
type wholeFormat struct {
	// name is what the reporter is told, e.g. "PDF".
	name string
	// hidden says what such a file may hide, for the Note when it is too
	// large to clean.
	hidden string
	match  func(head []byte) bool
	// clean writes the cleaned file to w, or the file unchanged with a
	// Result that says why (e.g. a ZIP that is not an Office document).
	clean func(w io.Writer, data []byte) (Result, error)
}

var wholeFormats = []wholeFormat{
	{"PDF", "author, software, dates and earlier versions", isPDF, cleanPDF},
	{"ZIP or Office document", "author, company, editing time and comments' authors", isZip, cleanZip},
	{"WebP image", "camera, GPS position and time", isWebP, cleanWebP},
	{"HEIF/HEIC image", "camera, GPS position and time", isHEIF, cleanHEIF},
}

// Clean copies r to w, removing metadata if r is of a format it knows
// (recognised by its first bytes, not by a claimed type) and copying it
// unchanged otherwise.
func (c *Cleaner) Clean(w io.Writer, r io.Reader) (Result, error) {
	return c.CleanContext(context.Background(), w, r)
}

// CleanContext is Clean that stops waiting for room to clean, and stops
// an isolated cleaning process, when ctx ends. After an error, what was
// written to w is not a cleaned file and must be discarded.
func (c *Cleaner) CleanContext(ctx context.Context, w io.Writer, r io.Reader) (Result, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(HeadSize)
	switch {
	case bytes.HasPrefix(head, pngMagic):
		return cleanPNG(w, br)
	case bytes.HasPrefix(head, jpegMagic):
		return cleanJPEG(w, br)
	}
	if f, ok := wholeFormatOf(head); ok {
		return c.cleanWhole(ctx, w, br, f)
	}
	_, err := io.Copy(w, br)
	return Result{}, err
}

// HeadSize is how many first bytes of a file decide how it is cleaned.
const HeadSize = 32

// Untouched reports whether Clean copies a file that starts with head (its
// first HeadSize bytes, or the whole file if it is shorter) to its output
// unchanged, byte for byte, whatever follows: no cleaner claims its
// format. The caller can then skip Clean and hash the file once, since
// what is stored is what was sent. It is the same decision CleanContext
// makes, from the same bytes.
func Untouched(head []byte) bool {
	head = head[:min(len(head), HeadSize)]
	if bytes.HasPrefix(head, pngMagic) || bytes.HasPrefix(head, jpegMagic) {
		return false
	}
	_, ok := wholeFormatOf(head)
	return !ok
}

func wholeFormatOf(head []byte) (wholeFormat, bool) {
	for _, f := range wholeFormats {
		if f.match(head) {
			return f, true
		}
	}
	return wholeFormat{}, false
}

// cleanWhole reads a file of format f into memory, up to MaxBuffered, and
// cleans it; a larger file is copied through untouched.
//
// The file is read before room to clean it is taken: r is the sender's
// upload, and a sender who trickles it in (or stops) must not hold that
// room meanwhile, or a few such senders would stop all cleaning. The room
// (slots, or an isolated cleaner's memory budget) bounds the parsing,
// which takes memory and time several times the file's size; what is
// buffered is bounded by the uploads in progress, each reading one file
// at a time. It is read in chunks rather than into one growing buffer,
// which would take up to twice the file's size while it grows.
func (c *Cleaner) cleanWhole(ctx context.Context, w io.Writer, r io.Reader, f wholeFormat) (Result, error) {
	var chunks [][]byte
	var n int64
	for n <= c.MaxBuffered {
		chunk := make([]byte, min(1<<20, c.MaxBuffered+1-n))
		m, err := io.ReadFull(r, chunk)
		if m > 0 {
			chunks = append(chunks, chunk[:m])
			n += int64(m)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return Result{}, err
		}
	}
	if n > c.MaxBuffered {
		for _, b := range chunks {
			if _, err := w.Write(b); err != nil {
				return Result{}, err
			}
		}
		chunks = nil // let the memory go while the rest streams
		if _, err := io.Copy(w, r); err != nil {
			return Result{}, err
		}
		return Result{Note: fmt.Sprintf(
			"This %s is larger than %s, the most this service can clean, so it is stored as you sent it: any hidden data in it (%s) is kept",
			f.name, sizeText(c.MaxBuffered), f.hidden)}, nil
	}
	if c.isolated != nil {
		return c.isolated.clean(ctx, w, chunks, n, f)
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	defer func() { <-c.slots }()
	return f.clean(w, joinChunks(chunks))
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (r *Result) remove(what string) {
	for _, x := range r.Removed {
		if x == what {
			return
		}
	}
	r.Removed = append(r.Removed, what)
}

// removedTrailer names data after a picture's end marker: phones append
// motion-photo videos, second images and capture details there, and a
// cropped screenshot may keep the uncropped remainder (the "aCropalypse"
// bug). No viewer shows it; it is dropped.
const removedTrailer = "data after the end of the picture (such as a motion-photo video, a second image or an uncropped remainder)"

// dropTrailer reads and drops whatever follows a picture's end, so that
// the SHA-256 of the file as sent covers all of it.
func dropTrailer(r io.Reader, res *Result) error {
	n, err := io.Copy(io.Discard, r)
	if n > 0 {
		res.remove(removedTrailer)
	}
	return err
}

// cleanJPEG walks the marker segments, dropping metadata segments and
// copying the image data of each scan unchanged, up to the end-of-image
// marker; what follows it is dropped.
func cleanJPEG(w io.Writer, r *bufio.Reader) (Result, error) {
	res := Result{Format: "JPEG"}
	soi := make([]byte, 2)
	if _, err := io.ReadFull(r, soi); err != nil {
		return res, ErrMalformed
	}
	if _, err := w.Write(soi); err != nil {
		return res, err
	}
	seg := make([]byte, 64<<10)
	for {
		var m [2]byte
		if _, err := io.ReadFull(r, m[:]); err != nil {
			return res, fmt.Errorf("%w: JPEG ends before its image data", ErrMalformed)
		}
		if m[0] != 0xFF {
			return res, fmt.Errorf("%w: JPEG marker expected", ErrMalformed)
		}
		marker := m[1]
		for marker == 0xFF { // fill bytes
			b, err := r.ReadByte()
			if err != nil {
				return res, ErrMalformed
			}
			marker = b
		}
		// Markers without a length.
		if marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			if _, err := w.Write([]byte{0xFF, marker}); err != nil {
				return res, err
			}
			continue
		}
		if marker == 0xD9 { // end of image
			if _, err := w.Write([]byte{0xFF, marker}); err != nil {
				return res, err
			}
			return res, dropTrailer(r, &res)
		}
		var lenb [2]byte
		if _, err := io.ReadFull(r, lenb[:]); err != nil {
			return res, ErrMalformed
		}
		n := int(binary.BigEndian.Uint16(lenb[:]))
		if n < 2 {
			return res, fmt.Errorf("%w: bad JPEG segment length", ErrMalformed)
		}
		body := seg[:n-2]
		if _, err := io.ReadFull(r, body); err != nil {
			return res, ErrMalformed
		}
		switch {
		case marker == 0xE1:
			if bytes.HasPrefix(body, []byte("Exif\x00")) {
				res.remove(removedExif)
			} else {
				res.remove(removedXMP)
			}
			continue
		case marker == 0xED:
			res.remove("IPTC/Photoshop (author, captions, location)")
			continue
		case marker == 0xFE:
			res.remove("comments")
			continue
		case marker >= 0xE3 && marker <= 0xEC, marker == 0xEF:
			res.remove("maker notes and other application data")
			continue
		}
		if _, err := w.Write([]byte{0xFF, marker, lenb[0], lenb[1]}); err != nil {
			return res, err
		}
		if _, err := w.Write(body); err != nil {
			return res, err
		}
		if marker == 0xDA { // start of scan: the image data follows
			if err := copyScan(w, r); err == io.EOF {
				// A file that stops in its image data (no end marker) is
				// kept as sent: viewers show what is there.
				return res, nil
			} else if err != nil {
				return res, err
			}
		}
	}
}

// copyScan copies a scan's entropy-coded data, in which 0xFF is followed by
// 0x00 (a stuffed byte) or a restart marker, up to the next other marker,
// which it leaves unread. It returns io.EOF if the data runs to the end.
func copyScan(w io.Writer, r *bufio.Reader) error {
	for {
		if _, err := r.Peek(1); err != nil {
			return err
		}
		buf, _ := r.Peek(r.Buffered())
		if i := bytes.IndexByte(buf, 0xFF); i != 0 {
			if i < 0 {
				i = len(buf)
			}
			if _, err := w.Write(buf[:i]); err != nil {
				return err
			}
			r.Discard(i)
			continue
		}
		two, err := r.Peek(2)
		if err != nil {
			// A lone 0xFF at the very end.
			if _, werr := w.Write(two); werr != nil {
				return werr
			}
			r.Discard(len(two))
			return io.EOF
		}
		switch m := two[1]; {
		case m == 0x00, m >= 0xD0 && m <= 0xD7:
			if _, err := w.Write(two); err != nil {
				return err
			}
			r.Discard(2)
		case m == 0xFF: // a fill byte before a marker
			r.Discard(1)
		default:
			return nil
		}
	}
}

// pngDrop lists the chunk types that carry text, Exif or time.
var pngDrop = map[string]string{
	"tEXt": "text (author, software, comments)",
	"zTXt": "text (author, software, comments)",
	"iTXt": "text and XMP (author, software, comments)",
	"eXIf": "Exif (camera, GPS position, time)",
	"tIME": "modification time",
}

// cleanPNG copies chunks through, dropping the metadata ones. A chunk is
// never held in memory whole.
func cleanPNG(w io.Writer, r *bufio.Reader) (Result, error) {
	res := Result{Format: "PNG"}
	sig := make([]byte, 8)
	if _, err := io.ReadFull(r, sig); err != nil {
		return res, ErrMalformed
	}
	if _, err := w.Write(sig); err != nil {
		return res, err
	}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return res, fmt.Errorf("%w: PNG without IEND", ErrMalformed)
			}
			return res, ErrMalformed
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		if n > 1<<31-1 {
			return res, fmt.Errorf("%w: bad PNG chunk length", ErrMalformed)
		}
		for _, c := range hdr[4:8] {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
				return res, fmt.Errorf("%w: bad PNG chunk type", ErrMalformed)
			}
		}
		if what, drop := pngDrop[typ]; drop {
			if _, err := io.CopyN(io.Discard, r, n+4); err != nil {
				return res, ErrMalformed
			}
			res.remove(what)
			continue
		}
		if _, err := w.Write(hdr[:]); err != nil {
			return res, err
		}
		if _, err := io.CopyN(w, r, n+4); err != nil {
			if errors.Is(err, io.EOF) {
				return res, ErrMalformed
			}
			return res, err
		}
		if typ == "IEND" {
			return res, dropTrailer(r, &res)
		}
	}
}
