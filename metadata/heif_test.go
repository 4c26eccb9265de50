package metadata_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/candour/candour/metadata"
)

// What an emptied item starts with: an Exif block with an empty TIFF
// directory, an XMP packet with nothing in it (then spaces).
const (
	emptyExifItem = "\x00\x00\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
	emptyXMPItem  = `<x:xmpmeta xmlns:x="adobe:ns:meta/"/>`
)

// decodeHEIF decodes data with libheif's heif-convert.
func decodeHEIF(t *testing.T, data []byte) image.Image {
	t.Helper()
	tool := debianTool(t, "heif-convert", "libheif-examples")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.heic"), filepath.Join(dir, "out.png")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(tool, in, out).CombinedOutput(); err != nil {
		t.Fatalf("heif-convert: %v %s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var (
	exiftoolItemLocation = regexp.MustCompile(`Item (\d+): const_meth=(\d*) base=0x([0-9a-f]+) offset=0x([0-9a-f]+) len=0x([0-9a-f]+)`)
	exiftoolItemInfo     = regexp.MustCompile(`Item (\d+): Type=(\S+) Name=.* ContentType=(\S*)`)
)

// metadataExtentsByExiftool asks exiftool where data's Exif and XMP items
// lie, as [start, end) file offsets: a second opinion on the cleaner's own
// parsing.
func metadataExtentsByExiftool(t *testing.T, data []byte) [][2]int {
	t.Helper()
	path := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exiftool(t), "-v3", path).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	isMetadata := map[string]bool{}
	for _, m := range exiftoolItemInfo.FindAllStringSubmatch(string(out), -1) {
		isMetadata[m[1]] = m[2] == "Exif" || m[3] == "application/rdf+xml"
	}
	var extents [][2]int
	for _, m := range exiftoolItemLocation.FindAllStringSubmatch(string(out), -1) {
		if !isMetadata[m[1]] {
			continue
		}
		if m[2] != "" && m[2] != "0" {
			t.Fatalf("the test expects metadata in mdat, not by construction method %s", m[2])
		}
		base, _ := strconv.ParseInt(m[3], 16, 64)
		offset, _ := strconv.ParseInt(m[4], 16, 64)
		length, _ := strconv.ParseInt(m[5], 16, 64)
		extents = append(extents, [2]int{int(base + offset), int(base + offset + length)})
	}
	if len(extents) != 2 {
		t.Fatalf("exiftool lists %d Exif and XMP items, want 2:\n%s", len(extents), out)
	}
	return extents
}

// checkChangedOnlyWithin fails if in and out differ outside the extents.
func checkChangedOnlyWithin(t *testing.T, in, out []byte, extents [][2]int) {
	t.Helper()
	if len(in) != len(out) {
		t.Fatalf("the length changed from %d to %d", len(in), len(out))
	}
	for i := range in {
		if in[i] == out[i] {
			continue
		}
		if !slices.ContainsFunc(extents, func(e [2]int) bool { return e[0] <= i && i < e[1] }) {
			t.Fatalf("byte %d changed, outside the metadata items %v", i, extents)
		}
	}
}

func TestHEIFCleaningRemovesIdentifyingMetadataAndKeepsPixels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"HEIC", []string{"-q", "90", "{in}", "-o", "{out}"}},
		{"AVIF", []string{"-A", "-q", "90", "{in}", "-o", "{out}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			original := encodeWithTool(t, testImage(), debianTool(t, "heif-enc", "libheif-examples"), tc.args...)
			dirty := tagged(t, original)

			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(dirty))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"Exif (camera, settings, GPS position, time)", "XMP (editing history, author, location)"}
			if res.Format != "HEIF" || !slices.Equal(res.Removed, want) {
				t.Fatalf("result = %+v", res)
			}
			clean := out.Bytes()
			checkNothingIdentifying(t, clean)
			checkChangedOnlyWithin(t, dirty, clean, metadataExtentsByExiftool(t, dirty))
			checkSamePixels(t, decodeHEIF(t, dirty), decodeHEIF(t, clean))
		})
	}
}

// heifInt is v as a big-endian integer of size bytes.
func heifInt(size int, v uint64) []byte {
	b := binary.BigEndian.AppendUint64(nil, v)
	return b[8-size:]
}

func heifBox(typ string, parts ...[]byte) []byte {
	body := slices.Concat(parts...)
	return slices.Concat(heifInt(4, uint64(8+len(body))), []byte(typ), body)
}

func heifFullBox(typ string, version byte, parts ...[]byte) []byte {
	return heifBox(typ, append([]byte{version, 0, 0, 0}, slices.Concat(parts...)...))
}

// heifInfe is an item info entry: version 0 has only a content type,
// versions 2 and 3 an item type too (and a content type for "mime").
func heifInfe(version byte, id uint32, itemType, contentType string) []byte {
	idSize := 2
	if version == 3 {
		idSize = 4
	}
	body := slices.Concat(heifInt(idSize, uint64(id)), heifInt(2, 0))
	if version >= 2 {
		body = append(body, itemType...)
	}
	body = append(body, "name\x00"...)
	if version < 2 || itemType == "mime" {
		body = append(body, contentType+"\x00"...)
	}
	return heifFullBox("infe", version, body)
}

func heifIinf(version byte, entries ...[]byte) []byte {
	count := heifInt(2, uint64(len(entries)))
	if version > 0 {
		count = heifInt(4, uint64(len(entries)))
	}
	return heifFullBox("iinf", version, count, slices.Concat(entries...))
}

// ilocEntry is one item's location: construction method, data reference,
// base offset and extents (offset, length).
type ilocEntry struct {
	id, method, dataRef, base uint64
	extents                   [][2]uint64
}

// heifIloc is an iloc box whose fields have the given sizes in bytes.
func heifIloc(version byte, offsetSize, lengthSize, baseSize, indexSize int, entries ...ilocEntry) []byte {
	idSize := 2
	if version == 2 {
		idSize = 4
	}
	body := []byte{byte(offsetSize<<4 | lengthSize), byte(baseSize<<4 | indexSize)}
	body = append(body, heifInt(idSize, uint64(len(entries)))...)
	for _, e := range entries {
		body = append(body, heifInt(idSize, e.id)...)
		if version > 0 {
			body = append(body, heifInt(2, e.method)...)
		}
		body = slices.Concat(body, heifInt(2, e.dataRef), heifInt(baseSize, e.base), heifInt(2, uint64(len(e.extents))))
		for _, x := range e.extents {
			body = slices.Concat(body, heifInt(indexSize, 0), heifInt(offsetSize, x[0]), heifInt(lengthSize, x[1]))
		}
	}
	return heifFullBox("iloc", version, body)
}

// heifFile is an ftyp box of 20 bytes, an mdat box holding mdat (with a 64-bit size if
// large) and a meta box holding a handler and children.
func heifFile(mdat []byte, large bool, children ...[]byte) []byte {
	ftyp := heifBox("ftyp", []byte("heic\x00\x00\x00\x00mif1"))
	mdatBox := heifBox("mdat", mdat)
	if large {
		mdatBox = slices.Concat(heifInt(4, 1), []byte("mdat"), heifInt(8, uint64(16+len(mdat))), mdat)
	}
	hdlr := heifFullBox("hdlr", 0, heifInt(4, 0), []byte("pict"), make([]byte, 13))
	return slices.Concat(ftyp, mdatBox, heifFullBox("meta", 0, hdlr, slices.Concat(children...)))
}

// The contents of hand-made files, and where they start in mdat (which
// heifFile puts 28 bytes into the file, or 36 with a 64-bit size).
var (
	heifImage = []byte("HEVC image data, kept as it is")
	heifExif  = []byte("\x00\x00\x00\x06Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08Make ForcePhone Model SERIAL123456")
	heifXMP   = []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>PC Jane Doe</dc:creator></x:xmpmeta>`)
	heifMdat  = slices.Concat(heifImage, heifExif, heifXMP)
)

// heifMdatWithout is heifMdat with the Exif or XMP item's bytes blotted
// out, for files that keep that item elsewhere or not at all: bytes that
// no item points to are not the cleaner's to find.
func heifMdatWithout(item []byte) []byte {
	return bytes.Replace(heifMdat, item, bytes.Repeat([]byte("-"), len(item)), 1)
}

var (
	exifAt = len(heifImage)
	xmpAt  = exifAt + len(heifExif)
)

// handMadeHEIF is a HEIF file built for a test, with the file offsets of
// its Exif and XMP items' extents.
type handMadeHEIF struct {
	name      string
	file      []byte
	exif, xmp [][2]int
}

// handMadeHEIFs covers the layouts the cleaner must read: each iloc and
// infe version, field sizes, base offsets, items split into extents, items
// in idat, extents whose length 0 means "to the end of the idat", and XMP
// outside the items, in a uuid box.
func handMadeHEIFs() []handMadeHEIF {
	abs := func(mdatAt, at, n int) [2]int { return [2]int{mdatAt + at, mdatAt + at + n} }
	var files []handMadeHEIF

	f := heifFile(heifMdat, false,
		heifIinf(0, heifInfe(2, 1, "hvc1", ""), heifInfe(2, 2, "Exif", ""), heifInfe(2, 3, "mime", "application/rdf+xml")),
		heifIloc(0, 4, 4, 0, 0,
			ilocEntry{id: 1, extents: [][2]uint64{{28, uint64(len(heifImage))}}},
			ilocEntry{id: 2, extents: [][2]uint64{{uint64(28 + exifAt), uint64(len(heifExif))}}},
			ilocEntry{id: 3, extents: [][2]uint64{{uint64(28 + xmpAt), uint64(len(heifXMP))}}}))
	files = append(files, handMadeHEIF{"iloc version 0 with file offsets", f,
		[][2]int{abs(28, exifAt, len(heifExif))}, [][2]int{abs(28, xmpAt, len(heifXMP))}})

	// XMP in idat, the last box of the file, reaching to its end.
	f = heifFile(heifMdatWithout(heifXMP), true,
		heifIinf(0, heifInfe(2, 1, "hvc1", ""), heifInfe(2, 2, "Exif", ""), heifInfe(2, 3, "mime", "application/rdf+xml")),
		heifIloc(1, 8, 8, 8, 4,
			ilocEntry{id: 1, base: 36, extents: [][2]uint64{{0, uint64(len(heifImage))}}},
			ilocEntry{id: 2, base: uint64(36 + exifAt), extents: [][2]uint64{{0, 20}, {20, uint64(len(heifExif) - 20)}}},
			ilocEntry{id: 3, method: 1, extents: [][2]uint64{{0, 0}}}),
		heifBox("idat", heifXMP))
	files = append(files, handMadeHEIF{"iloc version 1 with 64-bit fields, base offsets and XMP in idat", f,
		[][2]int{abs(36, exifAt, 20), abs(36, exifAt+20, len(heifExif)-20)}, [][2]int{{len(f) - len(heifXMP), len(f)}}})

	// 32-bit item ids; Exif in idat after other data; XMP in two extents.
	idat := slices.Concat([]byte("grid"), heifExif)
	f = heifFile(heifMdatWithout(heifExif), false,
		heifIinf(1, heifInfe(3, 70001, "av01", ""), heifInfe(3, 70002, "Exif", ""), heifInfe(3, 70003, "mime", "application/rdf+xml")),
		heifIloc(2, 4, 4, 0, 0,
			ilocEntry{id: 70001, extents: [][2]uint64{{28, uint64(len(heifImage))}}},
			ilocEntry{id: 70002, method: 1, extents: [][2]uint64{{4, uint64(len(heifExif))}}},
			ilocEntry{id: 70003, extents: [][2]uint64{{uint64(28 + xmpAt), 40}, {uint64(28 + xmpAt + 40), uint64(len(heifXMP) - 40)}}}),
		heifBox("idat", idat))
	files = append(files, handMadeHEIF{"iloc version 2 and infe version 3 with 32-bit item ids", f,
		[][2]int{{len(f) - len(heifExif), len(f)}}, [][2]int{abs(28, xmpAt, 40), abs(28, xmpAt+40, len(heifXMP)-40)}})

	f = heifFile(heifMdatWithout(heifXMP), false,
		heifIinf(0, heifInfe(2, 1, "hvc1", ""), heifInfe(2, 2, "Exif", "")),
		heifIloc(0, 4, 4, 0, 0,
			ilocEntry{id: 1, extents: [][2]uint64{{28, uint64(len(heifImage))}}},
			ilocEntry{id: 2, extents: [][2]uint64{{uint64(28 + exifAt), uint64(len(heifExif))}}}))
	xmpUUID := "\xbe\x7a\xcf\xcb\x97\xa9\x42\xe8\x9c\x71\x99\x94\x91\xe3\xaf\xac"
	f = slices.Concat(f, heifBox("uuid", []byte(xmpUUID), heifXMP))
	files = append(files, handMadeHEIF{"XMP in a top-level uuid box, as MP4 keeps it", f,
		[][2]int{abs(28, exifAt, len(heifExif))}, [][2]int{{len(f) - len(heifXMP), len(f)}}})

	f = heifFile(heifMdatWithout(heifExif), false,
		heifIinf(0, heifInfe(0, 1, "", "image/jpeg"), heifInfe(0, 3, "", "application/rdf+xml")),
		heifIloc(1, 4, 4, 0, 0,
			ilocEntry{id: 1, extents: [][2]uint64{{28, uint64(len(heifImage))}}},
			ilocEntry{id: 3, extents: [][2]uint64{{uint64(28 + xmpAt), uint64(len(heifXMP))}}}))
	files = append(files, handMadeHEIF{"infe version 0, XMP known by its content type", f,
		nil, [][2]int{abs(28, xmpAt, len(heifXMP))}})
	return files
}

// itemBytes is what an item's extents hold in data.
func itemBytes(data []byte, extents [][2]int) []byte {
	var b []byte
	for _, e := range extents {
		b = append(b, data[e[0]:e[1]]...)
	}
	return b
}

func TestHEIFCleaningEmptiesMetadataItemsInEveryLayout(t *testing.T) {
	t.Parallel()
	for _, tc := range handMadeHEIFs() {
		t.Run(tc.name, func(t *testing.T) {
			if got := itemBytes(tc.file, tc.exif); len(tc.exif) > 0 && !bytes.Equal(got, heifExif) {
				t.Fatalf("the test's Exif offsets point to %q", got)
			}
			if got := itemBytes(tc.file, tc.xmp); !bytes.Equal(got, heifXMP) {
				t.Fatalf("the test's XMP offsets point to %q", got)
			}
			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != "HEIF" || len(res.Removed) != min(len(tc.exif), 1)+min(len(tc.xmp), 1) {
				t.Fatalf("result = %+v", res)
			}
			clean := out.Bytes()
			checkChangedOnlyWithin(t, tc.file, clean, slices.Concat(tc.exif, tc.xmp))
			for _, s := range []string{"ForcePhone", "SERIAL123456", "Jane Doe"} {
				if bytes.Contains(clean, []byte(s)) {
					t.Errorf("%q survived cleaning", s)
				}
			}
			if exif := itemBytes(clean, tc.exif); len(exif) > 0 {
				want := append([]byte(emptyExifItem), make([]byte, len(exif)-len(emptyExifItem))...)
				if !bytes.Equal(exif, want) {
					t.Errorf("the Exif item holds %q, want an empty Exif block", exif)
				}
			}
			xmp := itemBytes(clean, tc.xmp)
			want := append([]byte(emptyXMPItem), bytes.Repeat([]byte(" "), len(xmp)-len(emptyXMPItem))...)
			if !bytes.Equal(xmp, want) {
				t.Errorf("the XMP item holds %q, want an empty XMP packet", xmp)
			}
		})
	}
}

func TestHEIFWithoutMetadataIsUnchanged(t *testing.T) {
	t.Parallel()
	in := heifFile(heifImage, false,
		heifIinf(0, heifInfe(2, 1, "hvc1", "")),
		heifIloc(0, 4, 4, 0, 0, ilocEntry{id: 1, extents: [][2]uint64{{28, uint64(len(heifImage))}}}))
	var out bytes.Buffer
	res, err := metadata.Clean(&out, bytes.NewReader(in))
	if err != nil || res.Format != "HEIF" || len(res.Removed) != 0 || !bytes.Equal(out.Bytes(), in) {
		t.Fatalf("res %+v, err %v, changed %v", res, err, !bytes.Equal(out.Bytes(), in))
	}
}

// malformedHEIFs are files the cleaner must refuse, each with one fault.
func malformedHEIFs() []handMadeHEIF {
	exifInfo := heifIinf(0, heifInfe(2, 2, "Exif", ""))
	exifAtMdat := ilocEntry{id: 2, extents: [][2]uint64{{uint64(28 + exifAt), uint64(len(heifExif))}}}
	locatedExif := func(e ilocEntry) []byte {
		return heifFile(heifMdat, false, exifInfo, heifIloc(1, 4, 4, 4, 0, e))
	}
	ftyp := heifBox("ftyp", []byte("heic\x00\x00\x00\x00mif1"))
	return []handMadeHEIF{
		{name: "an Exif item built from other items (construction method 2)",
			file: locatedExif(ilocEntry{id: 2, method: 2, extents: [][2]uint64{{0, 8}}})},
		{name: "an Exif item in another file (data reference 1)",
			file: locatedExif(ilocEntry{id: 2, dataRef: 1, extents: [][2]uint64{{0, 8}}})},
		{name: "an Exif item in a missing idat box",
			file: locatedExif(ilocEntry{id: 2, method: 1, extents: [][2]uint64{{0, 8}}})},
		{name: "an Exif item past the end of the file",
			file: locatedExif(ilocEntry{id: 2, extents: [][2]uint64{{uint64(28 + exifAt), 1 << 20}}})},
		{name: "an Exif item starting past the end of the file",
			file: locatedExif(ilocEntry{id: 2, base: 1 << 30, extents: [][2]uint64{{0, 8}}})},
		{name: "an Exif item whose base and offset overflow 64 bits",
			file: heifFile(heifMdat, false, exifInfo, heifIloc(1, 8, 8, 8, 0,
				ilocEntry{id: 2, base: 1<<64 - 1, extents: [][2]uint64{{2, 8}}}))},
		{name: "an Exif item running from mdat into the meta box",
			file: locatedExif(ilocEntry{id: 2, extents: [][2]uint64{{uint64(28 + exifAt), 0}}})},
		{name: "an Exif item in the ftyp box",
			file: locatedExif(ilocEntry{id: 2, extents: [][2]uint64{{8, 8}}})},
		{name: "an Exif item with no location",
			file: heifFile(heifMdat, false, exifInfo, heifIloc(1, 4, 4, 0, 0, ilocEntry{id: 1, extents: [][2]uint64{{28, 8}}}))},
		{name: "an Exif item and no iloc box",
			file: heifFile(heifMdat, false, exifInfo)},
		{name: "two iloc boxes",
			file: heifFile(heifMdat, false, exifInfo, heifIloc(0, 4, 4, 0, 0, exifAtMdat), heifIloc(0, 4, 4, 0, 0))},
		{name: "an infe box of version 4",
			file: heifFile(heifMdat, false, heifIinf(0, heifFullBox("infe", 4, heifInt(4, 2), []byte("Exif"))), heifIloc(0, 4, 4, 0, 0, exifAtMdat))},
		{name: "an infe box cut short",
			file: heifFile(heifMdat, false, heifIinf(0, heifFullBox("infe", 2, heifInt(2, 2))), heifIloc(0, 4, 4, 0, 0, exifAtMdat))},
		{name: "an iloc box of version 3",
			file: heifFile(heifMdat, false, exifInfo, heifFullBox("iloc", 3, make([]byte, 8)))},
		{name: "an iloc field of 3 bytes",
			file: heifFile(heifMdat, false, exifInfo, heifIloc(0, 3, 4, 0, 0, ilocEntry{id: 2, extents: [][2]uint64{{28, 8}}}))},
		{name: "an iloc box listing more items than it holds",
			file: heifFile(heifMdat, false, exifInfo, heifFullBox("iloc", 0, []byte{0x44, 0}, heifInt(2, 1000), heifInt(2, 2)))},
		{name: "an iinf box cut short",
			file: heifFile(heifMdat, false, heifFullBox("iinf", 0, []byte{0}))},
		{name: "a meta box without its version",
			file: slices.Concat(ftyp, heifBox("meta"))},
		{name: "a box smaller than its header",
			file: slices.Concat(ftyp, heifInt(4, 4), []byte("mdat"))},
		{name: "a box larger than the file",
			file: slices.Concat(ftyp, heifInt(4, 100), []byte("mdat"))},
		{name: "a 64-bit box size near 2^64",
			file: slices.Concat(ftyp, heifInt(4, 1), []byte("mdat"), heifInt(8, 1<<64-1))},
		{name: "a box header cut short",
			file: slices.Concat(ftyp, []byte("mda"))},
		{name: "a box inside meta larger than meta",
			file: slices.Concat(ftyp, heifFullBox("meta", 0, heifInt(4, 100), []byte("iinf")))},
	}
}

func TestMalformedHEIFIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range malformedHEIFs() {
		t.Run("with "+tc.name, func(t *testing.T) {
			_, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(tc.file))
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("cut anywhere, it is refused or keeps nothing identifying", func(t *testing.T) {
		for _, tc := range handMadeHEIFs() {
			for cut := 12; cut < len(tc.file); cut++ {
				var out bytes.Buffer
				_, err := metadata.Clean(&out, bytes.NewReader(tc.file[:cut]))
				if err == nil && (bytes.Contains(out.Bytes(), []byte("ForcePhone")) || bytes.Contains(out.Bytes(), []byte("Jane Doe"))) {
					t.Fatalf("%s cut at %d: accepted with its metadata", tc.name, cut)
				}
				if err != nil && !errors.Is(err, metadata.ErrMalformed) {
					t.Fatalf("%s cut at %d: err = %v, want ErrMalformed", tc.name, cut, err)
				}
			}
		}
	})
}

func FuzzCleanHEIF(f *testing.F) {
	for _, tc := range handMadeHEIFs() {
		f.Add(tc.file)
	}
	for _, tc := range malformedHEIFs() {
		f.Add(tc.file)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// A real ftyp box is far smaller than 16 MiB: a first byte of zero
		// keeps out the magic numbers of formats Clean tries first.
		if len(in) < 8 || in[0] != 0 || string(in[4:8]) != "ftyp" {
			return
		}
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(in))
		if res.Format != "HEIF" {
			return // not a HEIF brand: FuzzClean covers what happens then
		}
		if err != nil {
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			return
		}
		if out.Len() != len(in) {
			t.Fatalf("the length changed from %d to %d", len(in), out.Len())
		}
		// Cleaning again finds the same items and leaves them as they are.
		var again bytes.Buffer
		res2, err := metadata.Clean(&again, bytes.NewReader(out.Bytes()))
		if err != nil || !slices.Equal(res.Removed, res2.Removed) || !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatalf("cleaning twice differs: %+v then %+v, err %v", res, res2, err)
		}
	})
}
