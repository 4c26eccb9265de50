package metadata_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"image/jpeg"
	"image/png"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/metadata"
)

// officeIdentifying are the strings the test documents hide about their
// author: names, initials, accounts, employer, folders, session ids,
// printer, software and times.
var officeIdentifying = []string{
	"Jane Doe", "PCJD", "jane.doe@met.example", "Metropolitan Police", "Gene Hunt",
	"Professional Standards", "jdoe4521", "00A1B2C3", "00D4E5F6", "1a2b3c",
	"PSD-Floor3", "Microsoft Office Word", "LibreOffice", "2024-03-05", "laptop",
}

type zipEntry struct {
	name    string
	body    string
	store   bool
	extra   []byte
	comment string
}

// makeZip builds an archive as an editor would: deflated entries with
// their sizes in the local headers, Info-ZIP's timestamp extra field on
// each, and whatever other extra fields and comments are given.
func makeZip(t testing.TB, comment string, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		stamp := []byte{0x55, 0x54, 5, 0, 1, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(stamp[5:], uint32(time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC).Unix()))
		fh := &zip.FileHeader{Name: e.name, Method: zip.Store, Extra: append(stamp, e.extra...), Comment: e.comment,
			CRC32: crc32.ChecksumIEEE([]byte(e.body)), UncompressedSize64: uint64(len(e.body))}
		packed := []byte(e.body)
		if !e.store {
			var z bytes.Buffer
			fw, _ := flate.NewWriter(&z, flate.BestCompression)
			io.WriteString(fw, e.body)
			fw.Close()
			fh.Method, packed = zip.Deflate, z.Bytes()
		}
		fh.CompressedSize64 = uint64(len(packed))
		w, err := zw.CreateRaw(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(packed); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.SetComment(comment); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unixExtra is the Info-ZIP "ux" extra field, which records the owner's
// user and group ids (4521).
func unixExtra() []byte {
	b := []byte{0x75, 0x78, 11, 0, 1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[6:], 4521)
	binary.LittleEndian.PutUint32(b[11:], 4521)
	return b
}

// taggedJPEG is a photo with an Exif segment naming its author and a
// comment, as a phone or camera would leave them.
func taggedJPEG(t testing.TB) string {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	seg := func(marker byte, body string) string {
		return string([]byte{0xFF, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)}) + body
	}
	img := buf.Bytes()
	return string(img[:2]) + seg(0xE1, "Exif\x00\x00MM\x00\x2a Artist: PC Jane Doe") + seg(0xFE, "taken on PC Jane Doe's laptop") + string(img[2:])
}

// taggedPNG is a picture with a text chunk naming its author.
func taggedPNG(t testing.TB) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage()); err != nil {
		t.Fatal(err)
	}
	data := []byte("Author\x00PC Jane Doe")
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	img := buf.Bytes()
	return string(img[:33]) + string(chunk) + string(img[33:]) // after IHDR
}

const xmlDecl = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n"

func officeProps(app string) []zipEntry {
	return []zipEntry{
		{name: "docProps/core.xml", store: true, body: xmlDecl + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
			`<dc:title>Notes</dc:title><dc:creator>PC Jane Doe</dc:creator><cp:lastModifiedBy>PC Jane Doe</cp:lastModifiedBy><cp:revision>7</cp:revision>` +
			`<cp:lastPrinted>2024-03-05T09:00:00Z</cp:lastPrinted><dcterms:created xsi:type="dcterms:W3CDTF">2024-03-05T08:00:00Z</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">2024-03-05T10:11:12Z</dcterms:modified></cp:coreProperties>`},
		{name: "docProps/app.xml", body: xmlDecl + `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">` +
			`<Template>Met Letter.dotm</Template><TotalTime>42</TotalTime><Application>` + app + `</Application><Manager>DI Gene Hunt</Manager><Company>Metropolitan Police</Company><AppVersion>16.0000</AppVersion></Properties>`},
	}
}

// testDocx is a small Word document with everything Word records about
// its author: properties, tracked changes, comments, the people list,
// editing sessions, the template's path, a photo with Exif, and a chart's
// workbook embedded in it.
func testDocx(t testing.TB) []byte {
	const w = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`
	entries := []zipEntry{
		{name: "[Content_Types].xml", body: xmlDecl + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Default Extension="jpeg" ContentType="image/jpeg"/><Default Extension="xlsx" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"/>` +
			`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
			`<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>` +
			`<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>` +
			`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
			`<Override PartName="/word/people.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml"/>` +
			`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
			`<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>` +
			`<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>`},
		{name: "_rels/.rels", body: xmlDecl + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
			`<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/>` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{name: "word/_rels/document.xml.rels", body: xmlDecl + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>` +
			`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" Target="comments.xml"/>` +
			`<Relationship Id="rId4" Type="http://schemas.microsoft.com/office/2011/relationships/people" Target="people.xml"/>` +
			`<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.jpeg"/>` +
			`<Relationship Id="rId6" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/package" Target="embeddings/Microsoft_Excel_Worksheet.xlsx"/></Relationships>`},
		{name: "word/document.xml", extra: unixExtra(), comment: "PC Jane Doe's draft", body: xmlDecl +
			`<w:document ` + w + ` xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>` +
			`<w:p w:rsidR="00A1B2C3" w:rsidRDefault="00D4E5F6"><w:r w:rsidRPr="00A1B2C3"><w:t xml:space="preserve">Sergeant Smith deleted the messages </w:t></w:r>` +
			`<w:ins w:id="1" w:author="PC Jane Doe" w:date="2024-03-05T10:11:12Z"><w:r><w:t>and the call log </w:t></w:r></w:ins>` +
			`<w:del w:id="2" w:author='PC Jane Doe' w:date='2024-03-05T10:11:13Z'><w:r><w:delText>yesterday </w:delText></w:r></w:del>` +
			`<w:commentRangeStart w:id="0"/><w:r><w:t>on 4 March &amp; 5 March.</w:t></w:r><w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r></w:p>` +
			`<w:p w14:paraId="1>2" w:rsidR="00D4E5F6"><w:r><w:t>He typed w:author="Anyone" &gt; into the log.</w:t></w:r></w:p>` +
			`<!-- w:author="kept in a comment" --><w:sectPr w:rsidR="00A1B2C3" w:rsidSect="00D4E5F6"/></w:body></w:document>`},
		{name: "word/comments.xml", body: xmlDecl + `<w:comments ` + w + `><w:comment w:id="0" w:author="PC Jane Doe" w:date="2024-03-05T10:11:12Z" w:initials="PCJD">` +
			`<w:p w:rsidR="00A1B2C3"><w:r><w:t>Check the CCTV too.</w:t></w:r></w:p></w:comment></w:comments>`},
		{name: "word/settings.xml", body: xmlDecl + `<w:settings ` + w + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:zoom w:percent="100"/><w:attachedTemplate r:id="rId1"/>` +
			`<w:rsids><w:rsidRoot w:val="00A1B2C3"/><w:rsid w:val="00A1B2C3"/><w:rsid w:val="00D4E5F6"/></w:rsids><w:compat/></w:settings>`},
		{name: "word/_rels/settings.xml.rels", body: xmlDecl + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="file:///C:\Users\jdoe4521\AppData\Roaming\Microsoft\Templates\Met%20Letter.dotm" TargetMode="External"/></Relationships>`},
		{name: "word/styles.xml", body: xmlDecl + `<w:styles ` + w + `><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/><w:rsid w:val="00A1B2C3"/></w:style></w:styles>`},
		{name: "word/people.xml", body: xmlDecl + `<w15:people xmlns:w15='http://schemas.microsoft.com/office/word/2012/wordml'><w15:person w15:author='PC Jane Doe'>` +
			`<w15:presenceInfo w15:providerId='AD' w15:userId='S::jane.doe@met.example::7c1f'/></w15:person></w15:people>`},
		{name: "word/media/image1.jpeg", store: true, body: taggedJPEG(t)},
		{name: "word/embeddings/Microsoft_Excel_Worksheet.xlsx", store: true, body: string(testXlsx(t))},
		{name: "docProps/custom.xml", body: xmlDecl + `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">` +
			`<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Department"><vt:lpwstr>Professional Standards</vt:lpwstr></property></Properties>`},
	}
	entries = append(entries, officeProps("Microsoft Office Word")...)
	return makeZip(t, "sent from PC Jane Doe's laptop", entries...)
}

// testXlsx is a small workbook with a comment, the people list, the
// folder it was saved in and who reserved it.
func testXlsx(t testing.TB) []byte {
	const main = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	entries := []zipEntry{
		{name: "[Content_Types].xml", body: xmlDecl + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
			`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>` +
			`<Override PartName="/xl/comments1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>` +
			`<Override PartName="/xl/persons/person.xml" ContentType="application/vnd.ms-excel.person+xml"/>` +
			`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
			`<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>`},
		{name: "_rels/.rels", body: xmlDecl + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{name: "xl/workbook.xml", body: xmlDecl + `<workbook ` + main + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" xmlns:xr10="http://schemas.microsoft.com/office/spreadsheetml/2016/revision10">` +
			`<fileVersion appName="xl" lastEdited="7"/><fileSharing userName="PC Jane Doe" reservationPassword="CC3D"/><workbookPr defaultThemeVersion="166925"/>` +
			`<mc:AlternateContent><mc:Choice Requires="x15"><x15ac:absPath url="C:\Users\jdoe4521\Documents\" xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"/></mc:Choice></mc:AlternateContent>` +
			`<xr:revisionPtr revIDLastSave="0" documentId="8_{4D2E}" xr10:uidLastSave="{00A1B2C3-1111-2222-3333-444455556666}"/>` +
			`<sheets><sheet name="Overtime" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{name: "xl/worksheets/sheet1.xml", body: xmlDecl + `<worksheet ` + main + `><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1234.5</v></c></row></sheetData><legacyDrawing r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/></worksheet>`},
		{name: "xl/sharedStrings.xml", body: xmlDecl + `<sst ` + main + ` count="1" uniqueCount="1"><si><t>Overtime claimed for 4 March</t></si></sst>`},
		{name: "xl/comments1.xml", body: xmlDecl + `<comments ` + main + `><authors><author>PC Jane Doe</author></authors><commentList>` +
			`<comment ref="B1" authorId="0"><text><r><t>Never worked these hours.</t></r></text></comment></commentList></comments>`},
		{name: "xl/persons/person.xml", body: xmlDecl + `<personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments">` +
			`<person displayName="PC Jane Doe" id="{6A3B}" userId="jane.doe@met.example" providerId="AD"/></personList>`},
	}
	entries = append(entries, officeProps("Microsoft Excel")...)
	return makeZip(t, "", entries...)
}

// testPptx is a small presentation with a comment.
func testPptx(t testing.TB) []byte {
	const p = `xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"`
	entries := []zipEntry{
		{name: "[Content_Types].xml", body: xmlDecl + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>` +
			`<Override PartName="/ppt/slides/slide1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>` +
			`<Override PartName="/ppt/commentAuthors.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.commentAuthors+xml"/>` +
			`<Override PartName="/ppt/comments/comment1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.comments+xml"/>` +
			`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>`},
		{name: "_rels/.rels", body: xmlDecl + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="ppt/presentation.xml"/></Relationships>`},
		{name: "ppt/presentation.xml", body: xmlDecl + `<p:presentation ` + p + `><p:sldIdLst><p:sldId id="256"/></p:sldIdLst></p:presentation>`},
		{name: "ppt/slides/slide1.xml", body: xmlDecl + `<p:sld ` + p + `><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>Custody record gaps</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>`},
		{name: "ppt/commentAuthors.xml", body: xmlDecl + `<p:cmAuthorLst ` + p + `><p:cmAuthor id="0" name="PC Jane Doe" initials="PCJD" lastIdx="1" clrIdx="0"/></p:cmAuthorLst>`},
		{name: "ppt/comments/comment1.xml", body: xmlDecl + `<p:cmLst ` + p + `><p:cm authorId="0" dt="2024-03-05T10:11:12.000" idx="1"><p:pos x="10" y="10"/><p:text>See 02:14.</p:text></p:cm></p:cmLst>`},
	}
	entries = append(entries, officeProps("Microsoft Office PowerPoint")[:1]...)
	return makeZip(t, "", entries...)
}

// testOdt is a small OpenDocument text, as LibreOffice writes it: meta.xml
// with the author and statistics, a tracked change and a comment with
// their authors, LibreOffice's editing session ids, the printer, and a
// picture with a text chunk.
func testOdt(t testing.TB) []byte {
	const ns = `xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:officeooo="http://openoffice.org/2009/office" xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"`
	return makeZip(t, "",
		zipEntry{name: "mimetype", store: true, body: "application/vnd.oasis.opendocument.text"},
		zipEntry{name: "META-INF/manifest.xml", body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">` +
			`<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>` +
			`<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>` +
			`<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="settings.xml" manifest:media-type="text/xml"/>` +
			`<manifest:file-entry manifest:full-path="Pictures/photo.png" manifest:media-type="image/png"/></manifest:manifest>`},
		zipEntry{name: "content.xml", extra: unixExtra(), body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<office:document-content ` + ns + ` office:version="1.3"><office:automatic-styles>` +
			`<style:style style:name="P1" style:family="paragraph"><style:text-properties officeooo:rsid="001a2b3c" officeooo:paragraph-rsid="001a2b3c"/></style:style></office:automatic-styles>` +
			`<office:body><office:text><text:tracked-changes><text:changed-region text:id="ct1"><text:insertion><office:change-info>` +
			`<dc:creator>PC Jane Doe</dc:creator><dc:date>2024-03-05T10:11:12</dc:date></office:change-info></text:insertion></text:changed-region></text:tracked-changes>` +
			`<text:p text:style-name="P1">Sergeant Smith deleted <text:change-start text:change-id="ct1"/>the messages<text:change-end text:change-id="ct1"/> on 4 March.` +
			`<office:annotation><dc:creator>PC Jane Doe</dc:creator><dc:date>2024-03-05T10:11:13</dc:date><meta:creator-initials>PCJD</meta:creator-initials><text:p>Check the CCTV.</text:p></office:annotation></text:p>` +
			`<text:p>Second paragraph, <text:span>unchanged</text:span>.<office:annotation><dc:creator/><text:p>Unsigned note.</text:p></office:annotation></text:p></office:text></office:body></office:document-content>`},
		zipEntry{name: "styles.xml", body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<office:document-styles ` + ns + ` office:version="1.3"><office:styles><style:style style:name="Standard" style:family="paragraph"/></office:styles></office:document-styles>`},
		zipEntry{name: "meta.xml", body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<office:document-meta ` + ns + ` office:version="1.3"><office:meta><meta:initial-creator>PC Jane Doe</meta:initial-creator><dc:creator>PC Jane Doe</dc:creator>` +
			`<meta:creation-date>2024-03-05T08:00:00</meta:creation-date><dc:date>2024-03-05T10:11:12</dc:date><meta:editing-cycles>7</meta:editing-cycles><meta:editing-duration>PT42M</meta:editing-duration>` +
			`<meta:generator>LibreOffice/7.6.4.1$Linux_X86_64</meta:generator><meta:user-defined meta:name="Department">Professional Standards</meta:user-defined></office:meta></office:document-meta>`},
		zipEntry{name: "settings.xml", body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<office:document-settings ` + ns + ` office:version="1.3"><office:settings><config:config-item-set config:name="ooo:configuration-settings">` +
			`<config:config-item config:name="PrinterName" config:type="string">PSD-Floor3-HP</config:config-item>` +
			`<config:config-item config:name="PrinterSetup" config:type="base64Binary">UFNELUZsb29yMy1IUA==</config:config-item>` +
			`<config:config-item config:name="Rsid" config:type="int">1a2b3c</config:config-item>` +
			`<config:config-item config:name="EmbedFonts" config:type="boolean">false</config:config-item></config:config-item-set></office:settings></office:document-settings>`},
		zipEntry{name: "Pictures/photo.png", store: true, body: taggedPNG(t)},
	)
}

// entries returns the decompressed entries of an archive, in order,
// failing the test on any read or checksum error.
func entries(t *testing.T, data []byte) ([]*zip.File, map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the archive does not open: %v", err)
	}
	m := make(map[string][]byte)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s does not read back: %v", f.Name, err)
		}
		m[f.Name] = b
	}
	return zr.File, m
}

// officeText is the visible text of a part: the content of Word's <w:t>,
// of DrawingML's <a:t>, of OpenDocument paragraphs without the comments
// and tracked changes' records.
func officeText(part []byte) string {
	s := string(part)
	if m := regexp.MustCompile(`(?s)<(w|a):t(?: [^>]*)?>(.*?)</(w|a):t>`).FindAllStringSubmatch(s, -1); m != nil {
		var b strings.Builder
		for _, x := range m {
			b.WriteString(x[2])
		}
		return b.String()
	}
	s = regexp.MustCompile(`(?s)<office:annotation>.*?</office:annotation>|<text:tracked-changes>.*?</text:tracked-changes>`).ReplaceAllString(s, "")
	return regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, "")
}

// countElements counts the elements of an XML part.
func countElements(part []byte) int {
	n := 0
	d := xml.NewDecoder(bytes.NewReader(part))
	for {
		tok, err := d.Token()
		if err != nil {
			return n
		}
		if _, ok := tok.(xml.StartElement); ok {
			n++
		}
	}
}

// wellFormed fails the test if an XML part no longer parses.
func wellFormed(t *testing.T, name string, part []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(part))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Errorf("%s is no longer well-formed XML: %v", name, err)
			return
		}
	}
}

func TestOfficeDocumentsLoseWhoMadeThemAndKeepTheirText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		doc     []byte
		format  string
		removed []string
		// text lists the parts whose visible text must not change
		text []string
		// kept maps parts to what they must hold after cleaning
		kept map[string][]string
	}{
		{"Word document", testDocx(t), "Word document", []string{
			"document properties (author, company, dates, editing time)", "names of comment and change authors",
			"times of comments and changes", "editing session identifiers", "folder names from the author's computer",
			"hidden data in embedded pictures", "file times and owner details inside the archive",
		}, []string{"word/document.xml", "word/comments.xml"}, map[string][]string{
			"word/document.xml":            {`<!-- w:author="kept in a comment" -->`, `<w:p w14:paraId="1>2">`, `<w:ins w:id="1" w:author="Author" w:date="1980-01-01T00:00:00Z">`, `<w:sectPr/>`},
			"word/comments.xml":            {`w:author="Author"`, `w:initials="A"`},
			"word/people.xml":              {`<w15:person w15:author='Author'>`, `w15:providerId='None' w15:userId='Author'`},
			"word/settings.xml":            {`<w:zoom w:percent="100"/><w:attachedTemplate r:id="rId1"/><w:compat/>`},
			"word/_rels/settings.xml.rels": {`Target="Met%20Letter.dotm" TargetMode="External"`},
		}},
		{"Excel spreadsheet", testXlsx(t), "Excel spreadsheet", []string{
			"document properties (author, company, dates, editing time)", "names of comment and change authors",
			"folder names from the author's computer", "file times and owner details inside the archive",
		}, nil, map[string][]string{
			"xl/workbook.xml":       {`<fileSharing userName="Author" reservationPassword="CC3D"/>`, `<mc:Choice Requires="x15"></mc:Choice>`},
			"xl/comments1.xml":      {`<authors><author>Author</author></authors>`},
			"xl/persons/person.xml": {`displayName="Author"`},
		}},
		{"PowerPoint presentation", testPptx(t), "PowerPoint presentation", []string{
			"document properties (author, company, dates, editing time)", "names of comment and change authors",
			"times of comments and changes", "file times and owner details inside the archive",
		}, []string{"ppt/slides/slide1.xml"}, map[string][]string{
			"ppt/commentAuthors.xml":    {`name="Author" initials="A"`},
			"ppt/comments/comment1.xml": {`dt="1980-01-01T00:00:00Z"`},
		}},
		{"OpenDocument text", testOdt(t), "OpenDocument text", []string{
			"document properties (author, company, dates, editing time)", "names of comment and change authors",
			"times of comments and changes", "editing session identifiers", "printer name",
			"hidden data in embedded pictures", "file times and owner details inside the archive",
		}, []string{"content.xml"}, map[string][]string{
			"content.xml":  {`<style:text-properties/>`, `<office:annotation><dc:creator/><text:p>`, `<dc:creator>Author</dc:creator><dc:date>1980-01-01T00:00:00Z</dc:date><meta:creator-initials>A</meta:creator-initials>`},
			"settings.xml": {`config:name="PrinterName" config:type="string"></config:config-item>`, `config:name="Rsid" config:type="int">0<`, `config:type="boolean">false<`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tc.format || res.Note != "" {
				t.Errorf("result = %+v", res)
			}
			for _, r := range tc.removed {
				if !slices.Contains(res.Removed, r) {
					t.Errorf("Removed lacks %q: %q", r, res.Removed)
				}
			}
			if len(res.Removed) != len(tc.removed) {
				t.Errorf("Removed = %q, want only %q", res.Removed, tc.removed)
			}

			origFiles, before := entries(t, tc.doc)
			files, after := entries(t, out.Bytes())
			var names, origNames []string
			for i, f := range files {
				names = append(names, f.Name)
				origNames = append(origNames, origFiles[i].Name)
				if len(f.Extra) != 0 || f.Comment != "" || !f.Modified.Equal(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)) || f.ExternalAttrs != 0 {
					t.Errorf("%s keeps header details: extra %x, comment %q, time %v", f.Name, f.Extra, f.Comment, f.Modified)
				}
				if f.Method != origFiles[i].Method && f.Name != "mimetype" {
					t.Errorf("%s changed compression method", f.Name)
				}
			}
			if !slices.Equal(names, origNames) {
				t.Fatalf("entries %q, want %q", names, origNames)
			}
			if zr, _ := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len())); zr.Comment != "" {
				t.Errorf("archive comment kept: %q", zr.Comment)
			}

			for _, s := range officeIdentifying {
				if bytes.Contains(out.Bytes(), []byte(s)) {
					t.Errorf("%q is in the cleaned file's bytes", s)
				}
				for name, b := range after {
					if bytes.Contains(b, []byte(s)) {
						t.Errorf("%q survived in %s", s, name)
					}
				}
			}
			for name, b := range after {
				if ext := path.Ext(name); ext == ".xml" || ext == ".rels" {
					wellFormed(t, name, b)
				}
				// A part that held nothing identifying is copied as it was.
				identifying := strings.HasSuffix(name, ".xlsx")
				for _, s := range officeIdentifying {
					identifying = identifying || bytes.Contains(before[name], []byte(s))
				}
				if !identifying && !bytes.Equal(b, before[name]) {
					t.Errorf("%s changed though it held nothing identifying:\n%s\n%s", name, before[name], b)
				}
			}
			for _, name := range tc.text {
				if a, b := officeText(before[name]), officeText(after[name]); a != b || a == "" {
					t.Errorf("the text of %s changed:\n%q\n%q", name, a, b)
				}
			}
			for name, want := range tc.kept {
				for _, s := range want {
					if !bytes.Contains(after[name], []byte(s)) {
						t.Errorf("%s lacks %s:\n%s", name, s, after[name])
					}
				}
			}
			for name, want := range map[string]int{"docProps/core.xml": 1, "docProps/app.xml": 1, "docProps/custom.xml": 1, "meta.xml": 2} {
				if b, ok := after[name]; ok && countElements(b) != want {
					t.Errorf("%s is not empty: %s", name, b)
				}
			}
		})
	}
}

func TestOfficeEmbeddedWorkbookAndPictureAreCleaned(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if _, err := metadata.Clean(&out, bytes.NewReader(testDocx(t))); err != nil {
		t.Fatal(err)
	}
	_, parts := entries(t, out.Bytes())
	_, workbook := entries(t, parts["word/embeddings/Microsoft_Excel_Worksheet.xlsx"])
	for name, b := range workbook {
		if bytes.Contains(b, []byte("Jane Doe")) || bytes.Contains(b, []byte("Metropolitan Police")) {
			t.Errorf("the embedded workbook's %s still names its author: %s", name, b)
		}
	}
	if _, ok := workbook["xl/sharedStrings.xml"]; !ok {
		t.Error("the embedded workbook lost its cells")
	}
	_, orig := entries(t, testDocx(t))
	a, err := jpeg.Decode(bytes.NewReader(orig["word/media/image1.jpeg"]))
	if err != nil {
		t.Fatal(err)
	}
	b, err := jpeg.Decode(bytes.NewReader(parts["word/media/image1.jpeg"]))
	if err != nil {
		t.Fatalf("the cleaned picture no longer decodes: %v", err)
	}
	if a.Bounds() != b.Bounds() || a.At(10, 10) != b.At(10, 10) {
		t.Error("the picture changed")
	}
}

func TestOfficeMimetypeStaysFirstAndStored(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if _, err := metadata.Clean(&out, bytes.NewReader(testOdt(t))); err != nil {
		t.Fatal(err)
	}
	files, parts := entries(t, out.Bytes())
	if files[0].Name != "mimetype" || files[0].Method != zip.Store || string(parts["mimetype"]) != "application/vnd.oasis.opendocument.text" {
		t.Fatalf("first entry %s, method %d, content %q", files[0].Name, files[0].Method, parts["mimetype"])
	}
	// ODF readers look for the type at a fixed offset, which an extra
	// field would move.
	if !bytes.Equal(out.Bytes()[30:38+39], []byte("mimetypeapplication/vnd.oasis.opendocument.text")) {
		t.Errorf("the type is not at offset 38: %q", out.Bytes()[:80])
	}
	if !strings.Contains(string(parts["meta.xml"]), `office:version="1.3"`) {
		t.Errorf("meta.xml lost its version: %s", parts["meta.xml"])
	}
}

func TestExiftoolFindsNoAuthorInCleanedOfficeDocuments(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string][]byte{"docx": testDocx(t), "xlsx": testXlsx(t), "odt": testOdt(t)} {
		t.Run(name, func(t *testing.T) {
			before := tags(t, doc)
			if !strings.Contains(before, "Jane Doe") {
				t.Fatal("exiftool cannot look inside Office documents here: it needs Perl's Archive::Zip (Debian's libarchive-zip-perl, which `make test` installs)")
			}
			var out bytes.Buffer
			if _, err := metadata.Clean(&out, bytes.NewReader(doc)); err != nil {
				t.Fatal(err)
			}
			after := tags(t, out.Bytes())
			for _, s := range []string{"Jane Doe", "Metropolitan Police", "Gene Hunt", "LibreOffice", "Microsoft", "Professional Standards", "2024"} {
				if strings.Contains(after, s) {
					t.Errorf("exiftool still finds %q: %s", s, after)
				}
			}
		})
	}
}

func TestPasswordProtectedOpenDocumentPassesThrough(t *testing.T) {
	t.Parallel()
	doc := makeZip(t, "",
		zipEntry{name: "mimetype", store: true, body: "application/vnd.oasis.opendocument.text"},
		zipEntry{name: "META-INF/manifest.xml", body: `<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">` +
			`<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"><manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry></manifest:manifest>`},
		zipEntry{name: "content.xml", store: true, body: "\x8f\x02<dc:creator>\xff\x10 ciphertext"},
	)
	var out bytes.Buffer
	res, err := metadata.Clean(&out, bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if res.Cleaned() || !strings.Contains(res.Note, "password") || !bytes.Equal(out.Bytes(), doc) {
		t.Errorf("result %+v, changed %v", res, !bytes.Equal(out.Bytes(), doc))
	}
}

func TestZipArchivesThatAreNotOfficeDocumentsPassThrough(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string][]byte{
		"plain ZIP": makeZip(t, "my archive", zipEntry{name: "notes.txt", body: "PC Jane Doe", extra: unixExtra()}, zipEntry{name: "chat/", store: true}),
		"EPUB":      makeZip(t, "", zipEntry{name: "mimetype", store: true, body: "application/epub+zip"}, zipEntry{name: "content.opf", body: "<package/>"}),
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := metadata.Clean(&out, bytes.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			if res.Cleaned() || res.Note == "" || !bytes.Equal(out.Bytes(), doc) {
				t.Errorf("result %+v, changed %v", res, !bytes.Equal(out.Bytes(), doc))
			}
		})
	}
}

func TestDamagedOrHostileOfficeDocumentsAreRefused(t *testing.T) {
	t.Parallel()
	docx := testDocx(t)
	// withRaw is a minimal Office document with copies of an entry
	// written as given, compressed or not.
	withRaw := func(fh zip.FileHeader, body []byte, copies int) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("[Content_Types].xml")
		io.WriteString(w, "<Types/>")
		for i := range copies {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("word/part%d.xml", i), Method: fh.Method, Flags: fh.Flags,
				CRC32: fh.CRC32, CompressedSize64: uint64(len(body)), UncompressedSize64: fh.UncompressedSize64})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(body)
		}
		zw.Close()
		return buf.Bytes()
	}
	// bomb is a part of size n, deflated: n bytes of white space.
	bomb := func(n int) (zip.FileHeader, []byte) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		// The fastest level: with the race detector the default one took
		// most of this test's time to deflate 125 MiB of white space.
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
		w, _ := zw.Create("x")
		w.Write(bytes.Repeat([]byte(" "), n))
		zw.Close()
		zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		raw, _ := zr.File[0].OpenRaw()
		body, _ := io.ReadAll(raw)
		return zr.File[0].FileHeader, body
	}
	big, bigBody := bomb(65 << 20)
	many, manyBody := bomb(60 << 20)
	encrypted := zip.FileHeader{Method: zip.Store, Flags: 1, UncompressedSize64: 5}

	for _, tc := range []struct {
		name string
		doc  []byte
	}{
		{"a Word document cut in half", docx[:len(docx)/2]},
		{"a Word document missing its last byte", docx[:len(docx)-1]},
		{"garbage after a ZIP signature", []byte("PK\x03\x04 this is not really a zip file at all")},
		{"two entries of one name", makeZip(t, "", zipEntry{name: "[Content_Types].xml", body: "<Types/>"},
			zipEntry{name: "docProps/core.xml", body: "<a/>"}, zipEntry{name: "docProps/Core.xml", body: "<b>PC Jane Doe</b>"})},
		{"an encrypted entry", withRaw(encrypted, []byte("12345"), 1)},
		{"a part that inflates past 64 MiB", withRaw(big, bigBody, 1)},
		{"parts that inflate past 512 MiB in all", withRaw(many, manyBody, 9)},
		{"entries sharing their data", sharedDataZip(t)},
		{"a session list that is never closed", makeZip(t, "", zipEntry{name: "[Content_Types].xml", body: "<Types/>"},
			zipEntry{name: "word/settings.xml", body: `<w:settings><w:rsids><w:rsid w:val="00A1B2C3"/>`})},
		{"a part in UTF-16", makeZip(t, "", zipEntry{name: "[Content_Types].xml", body: "<Types/>"},
			zipEntry{name: "word/document.xml", body: "\xff\xfe<\x00w\x00/\x00>\x00"})},
		{"a broken picture", makeZip(t, "", zipEntry{name: "[Content_Types].xml", body: "<Types/>"},
			zipEntry{name: "word/media/image1.png", body: "\x89PNG\r\n\x1a\n\x00\x00"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := metadata.Clean(io.Discard, bytes.NewReader(tc.doc))
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// sharedDataZip is an Office document whose central directory points
// three entries at the same compressed data, the trick behind
// non-recursive zip bombs.
func sharedDataZip(t *testing.T) []byte {
	body := []byte("<w:document/>")
	crc := crc32.ChecksumIEEE(body)
	var buf bytes.Buffer
	le := func(v ...any) {
		for _, x := range v {
			binary.Write(&buf, binary.LittleEndian, x)
		}
	}
	local := func(name string) {
		le(uint32(0x04034b50), uint16(20), uint16(0), uint16(0), uint16(0), uint16(0x21), crc, uint32(len(body)), uint32(len(body)), uint16(len(name)), uint16(0))
		buf.WriteString(name)
	}
	local("[Content_Types].xml")
	buf.Write(body)
	dir := buf.Len()
	names := []string{"[Content_Types].xml", "word/a.xml", "word/b.xml"}
	for _, name := range names {
		le(uint32(0x02014b50), uint16(20), uint16(20), uint16(0), uint16(0), uint16(0), uint16(0x21), crc, uint32(len(body)), uint32(len(body)),
			uint16(len(name)), uint16(0), uint16(0), uint16(0), uint16(0), uint32(0), uint32(0))
		buf.WriteString(name)
	}
	le(uint32(0x06054b50), uint16(0), uint16(0), uint16(len(names)), uint16(len(names)), uint32(buf.Len()-dir), uint32(dir), uint16(0))
	if _, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
		t.Fatalf("the test archive does not open: %v", err)
	}
	return buf.Bytes()
}

func FuzzCleanZip(f *testing.F) {
	f.Add(testDocx(f))
	f.Add(testXlsx(f))
	f.Add(testPptx(f))
	f.Add(testOdt(f))
	f.Add(makeZip(f, "", zipEntry{name: "[Content_Types].xml", body: "<Types/>"},
		zipEntry{name: "word/document.xml", body: `<w:p w:rsidR='1' a=">"><w:ins w:author="x"><w:t>a</w:t></w:ins></w:p><w:rsids>`}))
	f.Add(makeZip(f, "note", zipEntry{name: "a.txt", body: "hello"}))
	f.Fuzz(func(t *testing.T, in []byte) {
		if !bytes.HasPrefix(in, []byte("PK\x03\x04")) {
			return
		}
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if !res.Cleaned() {
			if res.Note == "" || !bytes.Equal(out.Bytes(), in) {
				t.Fatalf("an archive that was not cleaned changed, or has no note: %+v", res)
			}
			return
		}
		zin, _ := zip.NewReader(bytes.NewReader(in), int64(len(in)))
		zout, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("the cleaned archive does not open: %v", err)
		}
		if len(zout.File) != len(zin.File) {
			t.Fatalf("%d entries became %d", len(zin.File), len(zout.File))
		}
		for i, f := range zout.File {
			if f.Name != zin.File[i].Name {
				t.Fatalf("entry %q became %q", zin.File[i].Name, f.Name)
			}
			if len(f.Extra) != 0 || f.Comment != "" {
				t.Fatalf("%s keeps an extra field or comment", f.Name)
			}
		}
		if _, err := metadata.Clean(io.Discard, bytes.NewReader(out.Bytes())); err != nil {
			t.Fatalf("the cleaned archive cannot be cleaned again: %v", err)
		}
	})
}
