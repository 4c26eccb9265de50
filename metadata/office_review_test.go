package metadata_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/metadata"
)

// A relationship tag with hundreds of thousands of attributes (a few
// megabytes of XML, deflated to a few kilobytes) must be cleaned in time
// proportional to its size: looking up the relationship's type once per
// attribute made it quadratic, hours of CPU for one upload.
func TestOfficeTagWithManyAttributesIsCleanedInLinearTime(t *testing.T) {
	const attrs = 300000
	rels := xmlDecl + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1"` +
		strings.Repeat(` Target="x"`, attrs) + `/></Relationships>`
	doc := makeZip(t, "",
		zipEntry{name: "[Content_Types].xml", body: xmlDecl + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		zipEntry{name: "word/_rels/document.xml.rels", body: rels},
		zipEntry{name: "word/document.xml", body: xmlDecl + `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>`},
	)
	start := time.Now()
	_, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(doc))
	if err != nil && !errors.Is(err, metadata.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a %d-byte document took %v to clean", len(doc), d)
	}
}
