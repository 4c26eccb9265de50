package metadata_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/candour/candour/metadata"
)

// A relationship tag with hundreds of thousands of attributes (a few
// megabytes of XML, deflated to a few kilobytes) must be cleaned in time
// proportional to its size: looking up the relationship's type once per
// attribute made it quadratic, hours of CPU for one upload. The work is
// counted (attributes looked at), not timed, so a busy machine cannot fail
// this test; a tag of 1,000 and one of 4,000 attributes are cleaned first,
// so that a quadratic cleaner fails in milliseconds rather than running
// for hours on the large one.
func TestOfficeTagWithManyAttributesIsCleanedInLinearTime(t *testing.T) {
	t.Parallel()
	work := func(attrs int) int {
		rels := xmlDecl + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1"` +
			strings.Repeat(` Target="x"`, attrs) + `/></Relationships>`
		doc := makeZip(t, "",
			zipEntry{name: "[Content_Types].xml", body: xmlDecl + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
				`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
			zipEntry{name: "word/_rels/document.xml.rels", body: rels},
			zipEntry{name: "word/document.xml", body: xmlDecl + `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>`},
		)
		res, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(doc))
		if err != nil && !errors.Is(err, metadata.ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
		return metadata.Work(res)
	}
	small, large := work(1000), work(4000)
	if small < 1000 {
		t.Fatalf("a tag of 1,000 attributes counted %d steps: the count is not wired to the attributes", small)
	}
	if large > 5*small {
		t.Fatalf("4 times the attributes took %d steps, %.1f times the %d of 1,000 attributes: more than linear", large, float64(large)/float64(small), small)
	}
	const attrs = 300000
	if w := work(attrs); w > 4*attrs {
		t.Fatalf("a tag of %d attributes took %d steps to clean, want at most %d", attrs, w, 4*attrs)
	}
}
