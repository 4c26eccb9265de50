package metadata

import (
	"bytes"
	"encoding/binary"
	"io"
	"sort"
	"strings"
)

// isHEIF recognises the ISO base media file format's ftyp box with a HEIF
// family brand (HEIC photos from phones, AVIF).
func isHEIF(head []byte) bool {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return false
	}
	switch string(head[8:12]) {
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis":
		return true
	}
	return false
}

// cleanHEIF empties the Exif and XMP items of a HEIF file (HEIC, AVIF).
//
// In HEIF, Exif and XMP are items like the image itself: the meta box's
// iinf lists them (item type "Exif", or "mime" with content type
// application/rdf+xml) and its iloc says where their bytes lie, in the file
// (usually in mdat) or in the meta box's idat. Removing them would mean
// rewriting every offset in iloc, which a mistake would turn into a broken
// picture; instead their bytes are overwritten in place, so the file keeps
// its length, every offset stays valid and the image data is untouched.
// The emptied items remain, as zero bytes (spaces for XMP): their
// existence and size stay visible, their content does not. Each starts
// with the smallest valid empty block of its kind (see blankItem), so that
// readers see metadata with no tags rather than a damaged block.
//
// Every Exif and XMP item is emptied, whichever image it describes.
// Thumbnails in HEIC are separate image items that carry no Exif of their
// own, so nothing about the camera or place survives in them.
//
// XMP in a top-level uuid box, where MP4 files keep it and exiftool
// reads it in HEIF too, is emptied the same way.
//
// Only these are cleaned: the metadata of image sequences' tracks (moov),
// other top-level boxes (such as the video of Samsung's motion photos) and
// bytes in mdat that no item points to are left as they are.
func cleanHEIF(w io.Writer, data []byte) (Result, error) {
	res := Result{Format: "HEIF"}
	top, err := readBoxes(data, 0, len(data))
	if err != nil {
		return res, err
	}
	if len(top) == 0 || top[0].typ != "ftyp" {
		return res, malformed("HEIF without an ftyp box first")
	}
	out := bytes.Clone(data)
	metas := 0
	for _, b := range top {
		switch {
		case b.typ == "meta":
			metas++
			if err := cleanHEIFMeta(out, data, top, b, &res); err != nil {
				return res, err
			}
		case b.typ == "uuid" && string(data[b.body-16:b.body]) == xmpUUID:
			blankItem(out[b.body:b.end], removedXMP, true)
			res.remove(removedXMP)
		}
	}
	// Without a meta box nothing says which bytes are metadata, so none
	// could be removed; a HEIF image always has one.
	if metas == 0 {
		return res, malformed("HEIF without a meta box")
	}
	_, err = w.Write(out)
	return res, err
}

// box is one ISO BMFF box, located in the file: data[body:end] is its
// payload, after the size, type and any extended type.
type box struct {
	typ       string
	body, end int
}

// readBoxes splits data[start:end] into boxes, checking that each fits.
func readBoxes(data []byte, start, end int) ([]box, error) {
	var boxes []box
	for pos := start; pos < end; {
		if end-pos < 8 {
			return nil, malformed("HEIF box header cut short at %d", pos)
		}
		size := uint64(binary.BigEndian.Uint32(data[pos : pos+4]))
		typ := string(data[pos+4 : pos+8])
		header := uint64(8)
		switch size {
		case 0: // the box runs to the end of its container
			size = uint64(end - pos)
		case 1: // a 64-bit size follows the type
			if end-pos < 16 {
				return nil, malformed("HEIF box %q at %d cut short", typ, pos)
			}
			size = binary.BigEndian.Uint64(data[pos+8 : pos+16])
			header = 16
		}
		if typ == "uuid" {
			header += 16 // the extended type
		}
		if size < header || size > uint64(end-pos) {
			return nil, malformed("HEIF box %q at %d has size %d, outside its container", typ, pos, size)
		}
		boxes = append(boxes, box{typ: typ, body: pos + int(header), end: pos + int(size)})
		pos += int(size)
	}
	return boxes, nil
}

// cleanHEIFMeta zeroes, in out, the Exif and XMP items that the meta box m
// of data describes; top are data's top-level boxes.
func cleanHEIFMeta(out, data []byte, top []box, m box, res *Result) error {
	if m.end-m.body < 4 {
		return malformed("HEIF meta box without version")
	}
	children, err := readBoxes(data, m.body+4, m.end)
	if err != nil {
		return err
	}
	var iinf, iloc, idat *box
	for i := range children {
		c := &children[i]
		var slot **box
		switch c.typ {
		case "iinf":
			slot = &iinf
		case "iloc":
			slot = &iloc
		case "idat":
			slot = &idat
		default:
			continue
		}
		// Two of one kind would let two readers see different items.
		if *slot != nil {
			return malformed("HEIF meta box with two %q boxes", c.typ)
		}
		*slot = c
	}
	if iinf == nil {
		return nil
	}
	found, err := metadataItems(data, *iinf)
	if err != nil || len(found) == 0 {
		return err
	}
	if iloc == nil {
		return malformed("HEIF with metadata items but no item locations")
	}
	wanted := make(map[uint32]bool, len(found))
	for _, item := range found {
		wanted[item.id] = true
	}
	locations, err := itemLocations(data, *iloc, wanted)
	if err != nil {
		return err
	}
	// Metadata items never share bytes: more to overwrite than the file
	// holds means extents that overlap, which could otherwise make the
	// same bytes be overwritten over and over.
	budget := len(data)
	for _, item := range found {
		res.work++
		locs, located := locations[item.id]
		if !located {
			return malformed("HEIF metadata item %d has no location", item.id)
		}
		for _, loc := range locs {
			res.work += len(loc.extents)
			extents, err := loc.resolve(data, top, idat, &res.work)
			if err != nil {
				return err
			}
			for i, e := range extents {
				if budget -= e[1] - e[0]; budget < 0 {
					return malformed("HEIF metadata items overlap")
				}
				blankItem(out[e[0]:e[1]], item.what, i == 0)
				res.work += e[1] - e[0]
			}
		}
		res.remove(item.what)
	}
	return nil
}

// xmpUUID is the extended type of the uuid box that holds XMP in MP4 files.
const xmpUUID = "\xbe\x7a\xcf\xcb\x97\xa9\x42\xe8\x9c\x71\x99\x94\x91\xe3\xaf\xac"

// The smallest valid empty blocks.
const (
	// A 4-byte offset to the TIFF header (0: it follows at once), then a
	// big-endian TIFF header pointing to an IFD at offset 8 with no
	// entries and no next IFD.
	emptyExif = "\x00\x00\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
	// An XMP root element with nothing in it.
	emptyXMP = `<x:xmpmeta xmlns:x="adobe:ns:meta/"/>`
)

// blankItem overwrites b, one extent of an item of a kind (removedExif or
// removedXMP): with zeros for Exif, with spaces (XML white space) for XMP.
// Filler alone makes exiftool warn of damaged metadata, so the item's
// first extent starts with the empty block of its kind if it fits.
func blankItem(b []byte, what string, first bool) {
	fill, empty := byte(0), emptyExif
	if what == removedXMP {
		fill, empty = ' ', emptyXMP
	}
	for i := range b {
		b[i] = fill
	}
	if first && len(b) >= len(empty) {
		copy(b, empty)
	}
}

// metadataItem is an item that holds metadata.
type metadataItem struct {
	id   uint32
	what string // removedExif or removedXMP
}

// metadataItems returns the Exif and XMP items listed in the iinf box.
func metadataItems(data []byte, iinf box) ([]metadataItem, error) {
	r := reader{b: data[iinf.body:iinf.end]}
	version := r.uint(1)
	r.skip(3) // flags
	if version == 0 {
		r.uint(2) // entry count: the infe boxes that follow are what counts
	} else {
		r.uint(4)
	}
	if r.err != nil {
		return nil, malformed("HEIF iinf box cut short")
	}
	entries, err := readBoxes(data, iinf.end-len(r.b), iinf.end)
	if err != nil {
		return nil, err
	}
	var found []metadataItem
	for _, e := range entries {
		if e.typ != "infe" {
			continue
		}
		id, what, err := itemInfo(data[e.body:e.end])
		if err != nil {
			return nil, err
		}
		if what != "" {
			found = append(found, metadataItem{id, what})
		}
	}
	return found, nil
}

// itemInfo reads an infe box's payload and says whether the item is Exif
// or XMP (removedExif, removedXMP) or neither ("").
func itemInfo(b []byte) (id uint32, what string, err error) {
	r := reader{b: b}
	version := r.uint(1)
	r.skip(3) // flags
	var itemType, contentType string
	switch version {
	case 0, 1: // no item type: only a MIME content type
		id = uint32(r.uint(2))
		r.skip(2) // protection index
		r.cstring()
		contentType = r.cstring()
	case 2, 3:
		if version == 2 {
			id = uint32(r.uint(2))
		} else {
			id = uint32(r.uint(4))
		}
		r.skip(2) // protection index
		itemType = string(r.bytes(4))
		r.cstring() // name
		if itemType == "mime" {
			contentType = r.cstring()
		}
	default:
		// An entry that cannot be read might be the Exif.
		return 0, "", malformed("HEIF item info version %d", version)
	}
	if r.err != nil {
		return 0, "", malformed("HEIF item info cut short")
	}
	switch {
	case itemType == "Exif":
		return id, removedExif, nil
	case strings.EqualFold(strings.TrimSpace(contentType), "application/rdf+xml"):
		return id, removedXMP, nil
	}
	return id, "", nil
}

// itemLocation is one iloc entry.
type itemLocation struct {
	id                 uint32
	constructionMethod uint64
	dataReference      uint64
	baseOffset         uint64
	extents            [][2]uint64 // offset, length (0: to the end)
}

// itemLocations reads the iloc box, keeping the locations of the wanted
// items only, by item id.
func itemLocations(data []byte, iloc box, wanted map[uint32]bool) (map[uint32][]itemLocation, error) {
	r := reader{b: data[iloc.body:iloc.end]}
	version := r.uint(1)
	r.skip(3) // flags
	if r.err == nil && version > 2 {
		return nil, malformed("HEIF iloc version %d", version)
	}
	sizes := r.uint(2)
	offsetSize, lengthSize := int(sizes>>12), int(sizes>>8&0xF)
	baseOffsetSize, indexSize := int(sizes>>4&0xF), int(sizes&0xF)
	if version == 0 {
		indexSize = 0 // reserved bits in version 0
	}
	for _, n := range []int{offsetSize, lengthSize, baseOffsetSize, indexSize} {
		if n != 0 && n != 4 && n != 8 {
			return nil, malformed("HEIF iloc field size %d", n)
		}
	}
	idSize := 2
	if version == 2 {
		idSize = 4
	}
	count := r.uint(idSize)
	locations := make(map[uint32][]itemLocation)
	// Each entry takes bytes, so a false count ends in r.err, not a long loop.
	for i := uint64(0); i < count && r.err == nil; i++ {
		loc := itemLocation{id: uint32(r.uint(idSize))}
		if version > 0 {
			loc.constructionMethod = r.uint(2) & 0xF
		}
		loc.dataReference = r.uint(2)
		loc.baseOffset = r.uint(baseOffsetSize)
		extents := r.uint(2)
		// With fields of no bytes, every extent is the same one and takes
		// no room in the box: a count of them would cost memory, not bytes.
		if offsetSize+lengthSize+indexSize == 0 && extents > 1 {
			return nil, malformed("HEIF iloc entry with %d extents of no bytes", extents)
		}
		keep := wanted[loc.id]
		for j := uint64(0); j < extents && r.err == nil; j++ {
			r.uint(indexSize)
			offset := r.uint(offsetSize)
			length := r.uint(lengthSize)
			if keep {
				loc.extents = append(loc.extents, [2]uint64{offset, length})
			}
		}
		if keep {
			locations[loc.id] = append(locations[loc.id], loc)
		}
	}
	if r.err != nil {
		return nil, malformed("HEIF iloc box cut short")
	}
	return locations, nil
}

// resolve returns the item's extents as [start, end) offsets in the file,
// refusing any that it cannot place inside an mdat box's payload or the
// idat box's: writing over a box header or the meta box would break the
// file's structure, and no writer puts metadata there.
//
// work counts the boxes looked at (see Result.work).
func (l itemLocation) resolve(data []byte, top []box, idat *box, work *int) ([][2]int, error) {
	var start, end int // the bytes the offsets count from, and their end
	switch {
	case l.constructionMethod == 0 && l.dataReference == 0: // this file
		start, end = 0, len(data)
	case l.constructionMethod == 1: // the meta box's idat
		if idat == nil {
			return nil, malformed("HEIF item %d in a missing idat box", l.id)
		}
		start, end = idat.body, idat.end
	default:
		// In another file, or built from other items: nothing to zero here
		// that could be trusted to be the item.
		return nil, malformed("HEIF item %d stored in a way that cannot be cleaned (method %d, reference %d)",
			l.id, l.constructionMethod, l.dataReference)
	}
	span := uint64(end - start)
	var extents [][2]int
	for _, e := range l.extents {
		offset, length := e[0], e[1]
		if l.baseOffset > span || offset > span-l.baseOffset {
			return nil, malformed("HEIF item %d starts outside the file", l.id)
		}
		offset += l.baseOffset
		if length == 0 {
			length = span - offset
		}
		if length > span-offset {
			return nil, malformed("HEIF item %d runs past the end", l.id)
		}
		e := [2]int{start + int(offset), start + int(offset+length)}
		if l.constructionMethod == 0 && !inMediaData(top, e, work) {
			return nil, malformed("HEIF item %d lies outside the media data", l.id)
		}
		extents = append(extents, e)
	}
	return extents, nil
}

// inMediaData reports whether the extent e lies in the payload of one of
// the top-level boxes top that is an mdat box. The boxes are in file order
// and do not overlap, so only the last one whose payload starts at or
// before e does can hold it; it is found by binary search, since a file
// may hold millions of boxes and an item as many extents: trying every box
// for every extent took seconds for a file of half a megabyte, and would
// take hours for one of DefaultMaxBuffered. work counts the boxes looked
// at (see Result.work).
func inMediaData(top []box, e [2]int, work *int) bool {
	i := sort.Search(len(top), func(i int) bool {
		*work++
		return top[i].body > e[0]
	}) - 1
	return i >= 0 && top[i].typ == "mdat" && e[1] <= top[i].end
}

// reader reads big-endian fields from a box's payload. A read past the end
// sets err and returns zeros, so that a parser checks once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = io.ErrUnexpectedEOF
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) skip(n int) { r.bytes(n) }

// uint reads an n-byte unsigned integer, n from 0 to 8.
func (r *reader) uint(n int) uint64 {
	var v uint64
	for _, c := range r.bytes(n) {
		v = v<<8 | uint64(c)
	}
	return v
}

// cstring reads a NUL-terminated string; a missing NUL ends it at the end
// of the box, as writers sometimes leave it out of the last field.
func (r *reader) cstring() string {
	if r.err != nil {
		return ""
	}
	s, rest, _ := bytes.Cut(r.b, []byte{0})
	r.b = rest
	return string(s)
}
