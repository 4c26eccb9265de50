package metadata

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// Office documents, both Office Open XML (docx, xlsx, pptx) and
// OpenDocument (odt, ods, odp), are ZIP archives of XML parts. Cleaning one
// rebuilds the archive entry by entry, in the same order, with the same
// names and compression methods:
//
//   - The property parts (docProps/core.xml, app.xml and custom.xml;
//     OpenDocument's meta.xml) are replaced by empty ones.
//   - In the other XML parts, the attributes and elements that name or
//     date the people who commented on or changed the document, and the
//     editing session identifiers, are replaced or removed at the byte
//     level; everything else in the part is copied byte for byte. Parsing
//     and re-encoding the XML is avoided on purpose: encoding/xml rewrites
//     namespace prefixes and breaks Office files.
//   - JPEG and PNG pictures are cleaned like uploaded ones, and Office
//     documents embedded in the document (a chart's workbook in a Word
//     document, say) are cleaned like the document itself, one level deep.
//   - Every entry gets a plain ZIP header: no extra fields (Info-ZIP ones
//     hold the owner's user id and precise times), no comment, and a fixed
//     time. Entries that did not change are copied still compressed.
//
// The document's text, numbers and layout, and the pixels of its
// pictures, are not touched.

func isZip(head []byte) bool { return bytes.HasPrefix(head, []byte("PK\x03\x04")) }

const (
	// maxPartSize caps what one entry may decompress to: larger parts are
	// refused, as a zip bomb would be.
	maxPartSize = 64 << 20
	// maxInflated caps what one document, with the documents embedded in
	// it, may decompress to in all, so that many small bombs, or one
	// shared by many entries, cannot keep the server busy either.
	maxInflated = 512 << 20
)

// What the reporter is told was removed.
const (
	removedProperties = "document properties (author, company, dates, editing time)"
	removedAuthors    = "names of comment and change authors"
	removedTimes      = "times of comments and changes"
	removedSessions   = "editing session identifiers"
	removedPaths      = "folder names from the author's computer"
	removedPrinter    = "printer name"
	removedPictures   = "hidden data in embedded pictures"
	removedZipDetails = "file times and owner details inside the archive"
)

// The values that replace identifying ones where the format needs a value.
const (
	neutralName     = "Author"
	neutralInitials = "A"
	neutralDate     = "1980-01-01T00:00:00Z"
	neutralGUID     = "{00000000-0000-0000-0000-000000000000}"
)

const (
	notOfficeNote = "This ZIP archive is not an Office document, so the files inside it were not checked for hidden data: it is stored as you sent it"
	passwordNote  = "This document is protected with a password, so it could not be checked for hidden data: it is stored as you sent it"
)

// Office Open XML content types of the property parts.
const (
	coreType   = "application/vnd.openxmlformats-package.core-properties+xml"
	appType    = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
	customType = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
)

// Empty property parts: the root element with its namespaces, and nothing
// in it, which is what Office itself writes for a document without
// properties.
const (
	emptyCore = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n" +
		`<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>`
	emptyApp = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n" +
		`<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>`
	emptyCustom = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n" +
		`<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>`
)

const odfMimePrefix = "application/vnd.oasis.opendocument."

type packageKind int

const (
	notOffice packageKind = iota
	ooxml
	odf
)

// cleanZip cleans an Office document; any other ZIP archive is written
// unchanged, with a Note.
func cleanZip(w io.Writer, data []byte) (Result, error) {
	budget := int64(maxInflated)
	p, err := openPackage(data, &budget)
	if err != nil {
		return p.res, err
	}
	if p.kind == notOffice {
		_, err := w.Write(data)
		return Result{Note: p.passNote}, err
	}
	err = p.write(w, true)
	return p.res, err
}

// An officePackage is one Office document being cleaned.
type officePackage struct {
	zr   *zip.Reader
	size int64
	kind packageKind
	res  Result
	// budget is what may still be decompressed, shared with the documents
	// embedded in this one.
	budget *int64
	// contentTypes maps Office Open XML part names, lower case and without
	// the leading slash, to their declared content types.
	contentTypes map[string]string
	// passNote says why a ZIP archive that is not cleaned passes through.
	passNote string
}

// openPackage reads the ZIP directory and decides what kind of document
// data is, refusing archives that would be unsafe to clean.
func openPackage(data []byte, budget *int64) (*officePackage, error) {
	p := &officePackage{size: int64(len(data)), budget: budget, res: Result{Format: "ZIP archive"}, passNote: notOfficeNote}
	zr, err := zip.NewReader(bytes.NewReader(data), p.size)
	// An unsafe path does not matter: nothing is extracted.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return p, malformed("unreadable ZIP archive: %v", err)
	}
	p.zr = zr
	if err := p.identify(); err != nil || p.kind == notOffice {
		return p, err
	}
	return p, p.check()
}

// identify sets the kind and Format of the document.
func (p *officePackage) identify() error {
	for _, f := range p.zr.File {
		if strings.EqualFold(f.Name, "[Content_Types].xml") {
			p.kind, p.res.Format = ooxml, "Office document"
			return p.readContentTypes(f)
		}
	}
	if len(p.zr.File) == 0 || p.zr.File[0].Name != "mimetype" || p.zr.File[0].UncompressedSize64 > 256 {
		return nil
	}
	mime, err := p.read(p.zr.File[0])
	if err != nil || !bytes.HasPrefix(mime, []byte(odfMimePrefix)) {
		return err
	}
	p.kind, p.res.Format = odf, "Office document"
	switch sub := string(mime[len(odfMimePrefix):]); {
	case strings.HasPrefix(sub, "text"):
		p.res.Format = "OpenDocument text"
	case strings.HasPrefix(sub, "spreadsheet"):
		p.res.Format = "OpenDocument spreadsheet"
	case strings.HasPrefix(sub, "presentation"):
		p.res.Format = "OpenDocument presentation"
	case strings.HasPrefix(sub, "graphics"):
		p.res.Format = "OpenDocument drawing"
	}
	for _, f := range p.zr.File {
		if f.Name == "META-INF/manifest.xml" {
			return p.readManifest(f)
		}
	}
	return nil
}

// readContentTypes records the declared content type of each part, which
// also tells the kind of document from the type of its main part.
func (p *officePackage) readContentTypes(f *zip.File) error {
	doc, err := p.read(f)
	if err != nil {
		return err
	}
	p.contentTypes = make(map[string]string)
	_, _, err = rewriteXML(doc, func(t *xmlTag) {
		if string(localName(t.name)) != "Override" {
			return
		}
		part := strings.ToLower(strings.TrimPrefix(string(t.value("PartName")), "/"))
		ct := string(t.value("ContentType"))
		p.contentTypes[part] = ct
		if !strings.Contains(ct, ".main") {
			return
		}
		switch {
		case strings.Contains(ct, "wordprocessingml") || strings.Contains(ct, "ms-word"):
			p.res.Format = "Word document"
		case strings.Contains(ct, "spreadsheetml") || strings.Contains(ct, "ms-excel"):
			p.res.Format = "Excel spreadsheet"
		case strings.Contains(ct, "presentationml") || strings.Contains(ct, "ms-powerpoint"):
			p.res.Format = "PowerPoint presentation"
		}
	})
	return err
}

// readManifest finds whether parts of the document are encrypted with its
// password. Their bytes are ciphertext, which can be neither cleaned nor
// changed: such a document is stored as it came, and the reporter told.
func (p *officePackage) readManifest(f *zip.File) error {
	doc, err := p.read(f)
	if err != nil {
		return err
	}
	_, _, err = rewriteXML(doc, func(t *xmlTag) {
		if string(t.name) == "manifest:encryption-data" {
			p.kind, p.passNote = notOffice, passwordNote
		}
	})
	return err
}

// check refuses what an Office document never holds and what could trick
// the cleaner: two entries of one name (a reader might pick the one left
// uncleaned), ZIP-encrypted entries (they cannot be read to be cleaned),
// and entries that share their data (a few megabytes would be copied out
// as gigabytes).
func (p *officePackage) check() error {
	seen := make(map[string]bool, len(p.zr.File))
	type extent struct{ start, end int64 }
	extents := make([]extent, 0, len(p.zr.File))
	for _, f := range p.zr.File {
		name := f.Name
		if p.kind == ooxml { // part names are compared ignoring case
			name = strings.ToLower(name)
		}
		if seen[name] {
			return malformed("two entries are named %q", f.Name)
		}
		seen[name] = true
		if f.Flags&0x1 != 0 {
			return malformed("entry %q is encrypted", f.Name)
		}
		start, err := f.DataOffset()
		if err != nil {
			return malformed("entry %q: %v", f.Name, err)
		}
		if f.CompressedSize64 > uint64(p.size-start) {
			return malformed("entry %q runs past the end of the archive", f.Name)
		}
		extents = append(extents, extent{start, start + int64(f.CompressedSize64)})
	}
	slices.SortFunc(extents, func(a, b extent) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(extents); i++ {
		if extents[i].start < extents[i-1].end {
			return malformed("entries share their data")
		}
	}
	return nil
}

// read decompresses one entry, within the limits.
func (p *officePackage) read(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > maxPartSize {
		return nil, malformed("entry %q is larger than %d MiB when decompressed", f.Name, maxPartSize>>20)
	}
	// Deflate cannot expand data more than 1032 times: a larger declared
	// size is a lie, refused before memory is set aside for it.
	if f.UncompressedSize64 > 1032*f.CompressedSize64+1024 {
		return nil, malformed("entry %q declares more data than it holds", f.Name)
	}
	// The reader refuses to decompress more than the declared size.
	n := int64(f.UncompressedSize64)
	if n > *p.budget {
		return nil, malformed("the archive decompresses to more than %d MiB", maxInflated>>20)
	}
	*p.budget -= n
	rc, err := f.Open()
	if err != nil {
		return nil, malformed("entry %q: %v", f.Name, err)
	}
	defer rc.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, malformed("entry %q: %v", f.Name, err)
	}
	// Reading to the end makes the reader check the CRC; it refuses more
	// data than declared.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, malformed("entry %q: %v", f.Name, err)
	}
	return b, nil
}

// write writes the cleaned archive to w. Documents embedded in this one
// are cleaned too if cleanEmbedded is set.
func (p *officePackage) write(w io.Writer, cleanEmbedded bool) error {
	if p.zr.Comment != "" {
		p.res.remove(removedZipDetails)
	}
	zw := zip.NewWriter(w)
	var ew entryWriter
	for i, f := range p.zr.File {
		if len(f.Extra) > 0 || f.Comment != "" || !f.Modified.Equal(zipEpoch) {
			p.res.remove(removedZipDetails)
		}
		content, changed, err := p.cleanEntry(i, f, cleanEmbedded)
		if err != nil {
			return err
		}
		// OpenDocument readers find the type in the first, stored entry.
		store := f.Method == zip.Store || (p.kind == odf && i == 0)
		if err := ew.write(zw, f, content, changed, store); err != nil {
			return err
		}
	}
	return zw.Close()
}

// cleanEntry returns the cleaned content of entry i, and whether it
// differs from the original.
func (p *officePackage) cleanEntry(i int, f *zip.File, cleanEmbedded bool) ([]byte, bool, error) {
	name := strings.ToLower(f.Name)
	ext := path.Ext(name)
	if p.kind == odf {
		switch {
		case i == 0: // mimetype
			if f.Method == zip.Store {
				return nil, false, nil
			}
			b, err := p.read(f)
			return b, true, err
		case path.Base(f.Name) == "meta.xml":
			return p.replaceODFMeta(f)
		case ext == ".xml":
			return p.rewrite(f, p.odfTag)
		}
	} else {
		ct := p.contentTypes[name]
		switch {
		case name == "[content_types].xml":
			return nil, false, nil
		case name == "docprops/core.xml" || ct == coreType:
			return p.replaceProperties(f, emptyCore)
		case name == "docprops/app.xml" || ct == appType:
			return p.replaceProperties(f, emptyApp)
		case name == "docprops/custom.xml" || ct == customType:
			return p.replaceProperties(f, emptyCustom)
		case strings.HasPrefix(name, "xl/worksheets/") || name == "xl/sharedstrings.xml":
			// Cell data, often the largest parts by far, names no one.
			return nil, false, nil
		case ext == ".xml" || ext == ".rels":
			return p.rewrite(f, p.ooxmlTag)
		case cleanEmbedded && embeddedExts[ext]:
			return p.cleanEmbedded(f)
		}
	}
	if pictureExts[ext] {
		return p.cleanPicture(f)
	}
	return nil, false, nil
}

var pictureExts = map[string]bool{".jpg": true, ".jpeg": true, ".jpe": true, ".jfif": true, ".png": true}

// embeddedExts are the Office Open XML documents that Office embeds, for
// example the workbook behind each chart.
var embeddedExts = map[string]bool{
	".docx": true, ".docm": true, ".dotx": true, ".dotm": true,
	".xlsx": true, ".xlsm": true, ".xltx": true, ".xltm": true,
	".pptx": true, ".pptm": true, ".ppsx": true, ".ppsm": true, ".potx": true, ".potm": true,
}

// replaceProperties replaces an Office Open XML property part by an empty
// one.
func (p *officePackage) replaceProperties(f *zip.File, empty string) ([]byte, bool, error) {
	doc, err := p.read(f)
	if err != nil {
		return nil, false, err
	}
	if n, err := countElements(doc); err != nil || n > 1 {
		p.res.remove(removedProperties)
	}
	return []byte(empty), !bytes.Equal(doc, []byte(empty)), nil
}

// replaceODFMeta replaces an OpenDocument meta.xml, of the document or of
// an object in it, by an empty one of the same ODF version.
func (p *officePackage) replaceODFMeta(f *zip.File) ([]byte, bool, error) {
	doc, err := p.read(f)
	if err != nil {
		return nil, false, err
	}
	var version []byte
	_, _, err = rewriteXML(doc, func(t *xmlTag) {
		if string(t.name) == "office:document-meta" {
			version = t.value("office:version")
		}
	})
	// An element beyond office:document-meta and office:meta is a property.
	if n, cerr := countElements(doc); err != nil || cerr != nil || n > 2 {
		p.res.remove(removedProperties)
	}
	empty := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"`
	if isVersion(version) {
		empty += ` office:version="` + string(version) + `"`
	}
	empty += `><office:meta/></office:document-meta>`
	return []byte(empty), !bytes.Equal(doc, []byte(empty)), nil
}

// isVersion reports whether v looks like an ODF version, "1.3", and so is
// safe to copy into the new meta.xml.
func isVersion(v []byte) bool {
	if len(v) == 0 || len(v) > 8 {
		return false
	}
	for _, c := range v {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// countElements counts the start tags in doc.
func countElements(doc []byte) (int, error) {
	n := 0
	_, _, err := rewriteXML(doc, func(*xmlTag) { n++ })
	return n, err
}

// rewrite applies edit to the tags of an XML part.
func (p *officePackage) rewrite(f *zip.File, edit func(*xmlTag)) ([]byte, bool, error) {
	doc, err := p.read(f)
	if err != nil {
		return nil, false, err
	}
	// UTF-16 is allowed in Office Open XML but never written by Office; the
	// byte patterns below would not see names in it.
	if bytes.HasPrefix(doc, []byte{0xFF, 0xFE}) || bytes.HasPrefix(doc, []byte{0xFE, 0xFF}) ||
		bytes.HasPrefix(doc, []byte{'<', 0}) || bytes.HasPrefix(doc, []byte{0, '<'}) {
		return nil, false, malformed("part %q is in UTF-16", f.Name)
	}
	out, removed, err := rewriteXML(doc, edit)
	if err != nil {
		return nil, false, fmt.Errorf("part %q: %w", f.Name, err)
	}
	for _, r := range removed {
		p.res.remove(r)
	}
	return out, len(removed) > 0, nil
}

// ooxmlTag removes or neutralises what names or dates the people who
// edited an Office Open XML document, and the ids of their editing
// sessions. Names are matched on their local part where the prefix varies
// between Office versions (w:author, w15:author, p188:author...).
func (p *officePackage) ooxmlTag(t *xmlTag) {
	elem := string(localName(t.name))
	switch {
	case strings.HasPrefix(elem, "rsid"): // Word's lists of editing sessions
		t.drop(removedSessions)
		return
	case elem == "absPath": // Excel's record of the folder it saved to
		t.drop(removedPaths)
		return
	case elem == "author" && string(localName(t.parent)) == "authors": // Excel comments
		t.replaceContent(neutralName, removedAuthors)
	}
	// Looked up once: per attribute, a tag of many would take quadratic time.
	templateRel := elem == "Relationship" && bytes.HasSuffix(t.value("Type"), []byte("/attachedTemplate"))
	for i := range t.attrs {
		attr := string(localName(t.attrs[i].name))
		switch {
		case strings.HasPrefix(attr, "rsid"):
			t.remove(i, removedSessions)
		case attr == "author" || attr == "userName" || attr == "refreshedBy" || attr == "userId":
			t.set(i, neutralName, removedAuthors)
		case attr == "initials":
			t.set(i, neutralInitials, removedAuthors)
		case attr == "providerId":
			t.set(i, "None", removedAuthors)
		case attr == "uidLastSave":
			t.set(i, neutralGUID, removedAuthors)
		case attr == "name" && (elem == "cmAuthor" || elem == "author" || elem == "userInfo"),
			attr == "displayName" && elem == "person":
			t.set(i, neutralName, removedAuthors)
		case string(t.attrs[i].name) == "w:date" || attr == "dateUtc",
			(attr == "dt" || attr == "created") && (elem == "cm" || elem == "reply"),
			attr == "dT" && elem == "threadedComment",
			attr == "dateTime" && (elem == "header" || elem == "userInfo"):
			t.set(i, neutralDate, removedTimes)
		case elem == "client" && string(localName(t.parent)) == "revLst": // PowerPoint's editing sessions
			switch attr {
			case "id":
				t.set(i, neutralGUID, removedSessions)
			case "dt":
				t.set(i, neutralDate, removedTimes)
			}
		case attr == "Target" && templateRel:
			// Keep the template's file name, not the folders above it.
			v := t.value("Target")
			t.set(i, string(v[bytes.LastIndexAny(v, `/\`)+1:]), removedPaths)
		}
	}
	p.countWork(t)
}

// odfTag does for OpenDocument what ooxmlTag does for Office Open XML: the
// authors and dates of tracked changes and comments, LibreOffice's editing
// session ids and the printer the document was set up for.
func (p *officePackage) odfTag(t *xmlTag) {
	switch string(t.name) {
	case "dc:creator":
		t.replaceContent(neutralName, removedAuthors)
	case "meta:creator-initials", "loext:sender-initials":
		t.replaceContent(neutralInitials, removedAuthors)
	case "dc:date":
		t.replaceContent(neutralDate, removedTimes)
	case "config:config-item":
		switch string(t.value("config:name")) {
		case "PrinterName", "PrinterSetup":
			t.replaceContent("", removedPrinter)
		case "Rsid", "RsidRoot":
			t.replaceContent("0", removedSessions)
		}
	}
	for i := range t.attrs {
		if attr := localName(t.attrs[i].name); string(attr) == "rsid" || bytes.HasSuffix(attr, []byte("-rsid")) {
			t.remove(i, removedSessions)
		}
	}
	p.countWork(t)
}

// countWork adds to the work counted (see Result.work) the attributes
// that an edit function went through, and those that value looked at
// for it.
func (p *officePackage) countWork(t *xmlTag) {
	p.res.work += len(t.attrs) + t.looked
	t.looked = 0
}

// cleanPicture removes metadata from a JPEG or PNG picture.
func (p *officePackage) cleanPicture(f *zip.File) ([]byte, bool, error) {
	data, err := p.read(f)
	if err != nil {
		return nil, false, err
	}
	var clean func(io.Writer, *bufio.Reader) (Result, error)
	switch {
	case bytes.HasPrefix(data, jpegMagic):
		clean = cleanJPEG
	case bytes.HasPrefix(data, pngMagic):
		clean = cleanPNG
	default:
		return nil, false, nil
	}
	var out bytes.Buffer
	out.Grow(len(data))
	res, err := clean(&out, bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, false, fmt.Errorf("picture %q: %w", f.Name, err)
	}
	if len(res.Removed) > 0 {
		p.res.remove(removedPictures)
	}
	return out.Bytes(), !bytes.Equal(out.Bytes(), data), nil
}

// cleanEmbedded cleans an Office document embedded in this one. Documents
// embedded in that one are left as they are.
func (p *officePackage) cleanEmbedded(f *zip.File) ([]byte, bool, error) {
	data, err := p.read(f)
	if err != nil || !isZip(data) {
		return nil, false, err
	}
	inner, err := openPackage(data, p.budget)
	if err != nil {
		return nil, false, fmt.Errorf("embedded document %q: %w", f.Name, err)
	}
	if inner.kind == notOffice {
		return nil, false, nil
	}
	var out bytes.Buffer
	if err := inner.write(&out, false); err != nil {
		return nil, false, fmt.Errorf("embedded document %q: %w", f.Name, err)
	}
	p.res.work += inner.res.work
	for _, r := range inner.res.Removed {
		p.res.remove(r)
	}
	return out.Bytes(), true, nil
}

// zipEpoch is the time every entry is given: the earliest a ZIP header can
// hold, which is also what Office writes.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// An entryWriter writes entries with sanitised headers, reusing one
// compressor.
type entryWriter struct {
	fw  *flate.Writer
	buf bytes.Buffer
}

// write writes entry f: its original compressed bytes if !changed, else
// content, compressed unless store is set.
func (ew *entryWriter) write(zw *zip.Writer, f *zip.File, content []byte, changed, store bool) error {
	fh := &zip.FileHeader{
		Name:           f.Name,
		Flags:          f.Flags & 0x800, // only "the name is UTF-8"
		Method:         f.Method,
		CreatorVersion: 20,
		ReaderVersion:  20,
	}
	// CreateRaw writes the MS-DOS time as it stands; Modified would only
	// be written by CreateHeader, as an extra field.
	//lint:ignore SA1019 the MS-DOS date is the one time field without an extra field
	fh.ModifiedDate = 1<<5 | 1 // 1980-01-01, 00:00
	if strings.HasSuffix(f.Name, "/") {
		// A directory has no content, whatever its header claims.
		fh.Method = zip.Store
		_, err := zw.CreateRaw(fh)
		return err
	}
	if !changed {
		fh.CRC32, fh.CompressedSize64, fh.UncompressedSize64 = f.CRC32, f.CompressedSize64, f.UncompressedSize64
		raw, err := f.OpenRaw()
		if err != nil {
			return malformed("entry %q: %v", f.Name, err)
		}
		out, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		n, err := io.Copy(out, raw)
		if err != nil {
			return err
		}
		if uint64(n) != f.CompressedSize64 {
			return malformed("entry %q is cut off", f.Name)
		}
		return nil
	}
	fh.CRC32 = crc32.ChecksumIEEE(content)
	fh.UncompressedSize64 = uint64(len(content))
	packed := content
	if store {
		fh.Method = zip.Store
	} else {
		fh.Method = zip.Deflate
		ew.buf.Reset()
		if ew.fw == nil {
			ew.fw, _ = flate.NewWriter(&ew.buf, flate.DefaultCompression)
		} else {
			ew.fw.Reset(&ew.buf)
		}
		if _, err := ew.fw.Write(content); err != nil {
			return err
		}
		if err := ew.fw.Close(); err != nil {
			return err
		}
		packed = ew.buf.Bytes()
	}
	fh.CompressedSize64 = uint64(len(packed))
	out, err := zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	_, err = out.Write(packed)
	return err
}

// An xmlTag is a start tag of an XML part, as written in it, for an edit
// function to inspect and change.
type xmlTag struct {
	name   []byte // qualified, "w:ins"
	parent []byte // of the enclosing element; nil at the root or very deep
	attrs  []xmlAttr
	// what the edit function asked for the element as a whole
	action  elementAction
	content string
	why     string
	// looked counts the attributes value has looked at (see Result.work).
	looked int
}

type elementAction int

const (
	keepElement    elementAction = iota
	dropElement                  // remove it, and all it contains
	replaceContent               // keep the tags, replace what is between them
)

type xmlAttr struct {
	start      int // of the white space before the attribute, in the tag
	name       []byte
	valueStart int // of the value, between its quotes
	valueEnd   int
	value      []byte
	edit       attrEdit
	newValue   string
	why        string
}

type attrEdit int

const (
	keepAttr attrEdit = iota
	setAttr
	removeAttr
)

// value returns the raw value of the attribute of qualified name name, or
// nil.
func (t *xmlTag) value(name string) []byte {
	for _, a := range t.attrs {
		t.looked++
		if string(a.name) == name {
			return a.value
		}
	}
	return nil
}

// set replaces the value of attribute i; why says what that removes.
func (t *xmlTag) set(i int, value, why string) {
	if a := &t.attrs[i]; string(a.value) != value {
		a.edit, a.newValue, a.why = setAttr, value, why
	}
}

// remove removes attribute i.
func (t *xmlTag) remove(i int, why string) {
	t.attrs[i].edit, t.attrs[i].why = removeAttr, why
}

// drop removes the element.
func (t *xmlTag) drop(why string) { t.action, t.why = dropElement, why }

// replaceContent replaces what the element contains by text, which must
// need no escaping.
func (t *xmlTag) replaceContent(text, why string) {
	t.action, t.content, t.why = replaceContent, text, why
}

// localName strips the namespace prefix from a qualified name.
func localName(name []byte) []byte { return name[bytes.IndexByte(name, ':')+1:] }

// Kinds of markup.
const (
	otherMarkup = iota // comment, CDATA, processing instruction, DTD
	startTag
	emptyTag // <a/>
	endTag
)

// maxTrackedDepth bounds the memory used to know each tag's parent.
const maxTrackedDepth = 64

// rewriteXML calls edit for each start tag of doc, in order, and applies
// the changes it asks for. Everything else is copied byte for byte: text,
// comments, white space, the order and quoting of attributes. It returns
// the new document (doc itself if nothing changed) and why it changed.
// Markup that is cut off is copied as it is; an element to drop or empty
// that is never closed is an error.
func rewriteXML(doc []byte, edit func(*xmlTag)) ([]byte, []string, error) {
	var (
		out     []byte
		copied  int // doc[:copied] is dealt with
		removed []string
		stack   [][]byte
		depth   int
		t       xmlTag
	)
	replace := func(start, end int, with []byte) {
		if out == nil {
			out = make([]byte, 0, len(doc))
		}
		out = append(out, doc[copied:start]...)
		out = append(out, with...)
		copied = end
	}
	note := func(why string) {
		for _, r := range removed {
			if r == why {
				return
			}
		}
		removed = append(removed, why)
	}
	for i := 0; i < len(doc); {
		lt := bytes.IndexByte(doc[i:], '<')
		if lt < 0 {
			break
		}
		start := i + lt
		kind, end := scanMarkup(doc, start)
		i = end
		switch kind {
		case endTag:
			if depth > 0 {
				depth--
			}
			continue
		case otherMarkup:
			continue
		}
		parseTag(doc[start:end], &t)
		t.parent = nil
		if depth > 0 && depth <= len(stack) {
			t.parent = stack[depth-1]
		}
		t.action = keepElement
		edit(&t)
		contentEnd, elemEnd := end, end
		if t.action != keepElement && kind == startTag {
			var ok bool
			if contentEnd, elemEnd, ok = skipElement(doc, end); !ok {
				return nil, nil, malformed("element <%s> is not closed", t.name)
			}
			i = elemEnd
		}
		if t.action == dropElement {
			replace(start, elemEnd, nil)
			note(t.why)
			continue
		}
		if tag := t.rewrite(doc[start:end], note); tag != nil {
			replace(start, end, tag)
		}
		if t.action == replaceContent {
			if kind == startTag && string(doc[end:contentEnd]) != t.content {
				replace(end, contentEnd, []byte(t.content))
				note(t.why)
			}
			continue
		}
		if kind == startTag {
			depth++
			if depth <= maxTrackedDepth {
				stack = append(stack[:depth-1], t.name)
			}
		}
	}
	if out == nil {
		return doc, nil, nil
	}
	return append(out, doc[copied:]...), removed, nil
}

// rewrite returns the tag with the attribute edits made, telling note
// why, or nil if there are none.
func (t *xmlTag) rewrite(raw []byte, note func(why string)) []byte {
	var out []byte
	pos := 0
	for _, a := range t.attrs {
		if a.edit == keepAttr {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(raw))
		}
		note(a.why)
		if a.edit == removeAttr {
			out = append(out, raw[pos:a.start]...)
			pos = a.valueEnd + 1 // past the closing quote
		} else {
			out = append(out, raw[pos:a.valueStart]...)
			out = append(out, a.newValue...)
			pos = a.valueEnd
		}
	}
	if out == nil {
		return nil
	}
	return append(out, raw[pos:]...)
}

// skipElement finds the end tag matching a start tag that ends at from.
// It returns where the content ends (the end tag starts) and where the
// end tag ends.
func skipElement(doc []byte, from int) (contentEnd, end int, ok bool) {
	depth := 1
	for i := from; i < len(doc); {
		lt := bytes.IndexByte(doc[i:], '<')
		if lt < 0 {
			break
		}
		start := i + lt
		kind, e := scanMarkup(doc, start)
		i = e
		switch kind {
		case startTag:
			depth++
		case endTag:
			if depth--; depth == 0 {
				return start, e, true
			}
		}
	}
	return 0, 0, false
}

// scanMarkup returns the kind of the markup that starts at doc[start],
// which is '<', and where it ends. Markup that is cut off runs to the end
// of doc, as otherMarkup.
func scanMarkup(doc []byte, start int) (kind, end int) {
	rest := doc[start:]
	until := func(delim string) (int, int) {
		if i := bytes.Index(rest[1:], []byte(delim)); i >= 0 {
			return otherMarkup, start + 1 + i + len(delim)
		}
		return otherMarkup, len(doc)
	}
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		return until("-->")
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		return until("]]>")
	case bytes.HasPrefix(rest, []byte("<?")):
		return until("?>")
	case bytes.HasPrefix(rest, []byte("<!")):
		return until(">")
	case bytes.HasPrefix(rest, []byte("</")):
		if _, end = until(">"); doc[end-1] == '>' {
			return endTag, end
		}
		return otherMarkup, end
	}
	// A '>' may appear inside a quoted attribute value; quotes may not.
	for i := 1; i < len(rest); i++ {
		switch c := rest[i]; c {
		case '"', '\'':
			q := bytes.IndexByte(rest[i+1:], c)
			if q < 0 {
				return otherMarkup, len(doc)
			}
			i += 1 + q
		case '>':
			if rest[i-1] == '/' {
				return emptyTag, start + i + 1
			}
			return startTag, start + i + 1
		}
	}
	return otherMarkup, len(doc)
}

// parseTag reads the name and attributes of a start tag. It stops at the
// first thing that is not a well-formed attribute: what follows is kept
// but not offered to edits.
func parseTag(raw []byte, t *xmlTag) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	j := 1
	for j < len(raw) && !isSpace(raw[j]) && raw[j] != '/' && raw[j] != '>' {
		j++
	}
	t.name = raw[1:j]
	t.attrs = t.attrs[:0]
	for {
		ws := j
		for j < len(raw) && isSpace(raw[j]) {
			j++
		}
		nameStart := j
		for j < len(raw) && !isSpace(raw[j]) && raw[j] != '=' && raw[j] != '/' && raw[j] != '>' {
			j++
		}
		if j == ws || j == nameStart {
			return
		}
		name := raw[nameStart:j]
		for j < len(raw) && isSpace(raw[j]) {
			j++
		}
		if j == len(raw) || raw[j] != '=' {
			return
		}
		j++
		for j < len(raw) && isSpace(raw[j]) {
			j++
		}
		if j == len(raw) || (raw[j] != '"' && raw[j] != '\'') {
			return
		}
		q := bytes.IndexByte(raw[j+1:], raw[j])
		if q < 0 {
			return
		}
		vs, ve := j+1, j+1+q
		t.attrs = append(t.attrs, xmlAttr{start: ws, name: name, valueStart: vs, valueEnd: ve, value: raw[vs:ve]})
		j = ve + 1
	}
}
