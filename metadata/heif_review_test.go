package metadata_test

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/candour/candour/metadata"
)

// An iloc box whose offset, length and index fields are all 0 bytes wide
// lets every item claim 65,535 extents that take no bytes at all: a few
// kilobytes of file must not become gigabytes of memory.
func TestHEIFExtentsThatTakeNoBytesDoNotExhaustMemory(t *testing.T) {
	const entries = 200        // each claims 65,535 extents: about 1 MiB of memory apiece if kept
	body := []byte{0x00, 0x00} // offset, length, base offset and index sizes: all 0
	body = append(body, heifInt(2, entries)...)
	for range entries {
		body = slices.Concat(body, heifInt(2, 2), heifInt(2, 0), heifInt(2, 0), heifInt(2, 0xFFFF))
	}
	file := heifFile(heifMdat, false,
		heifIinf(0, heifInfe(2, 2, "Exif", "")),
		heifFullBox("iloc", 1, body))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(file))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, metadata.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("a %d-byte file made the cleaner allocate %d MiB", len(file), alloc>>20)
	}
}

// Many metadata items, each with its own location, are matched to their
// locations without comparing every item with every location.
func TestHEIFManyMetadataItemsAreCleanedInLinearTime(t *testing.T) {
	const items = 60000
	// Each item has one byte of its own, after the hand-made contents.
	mdat := slices.Concat(heifMdat, make([]byte, items))
	var infes [][]byte
	// An iloc box of version 2: 4-byte offsets and lengths, 4-byte ids.
	iloc := slices.Concat([]byte{0x44, 0x00}, heifInt(4, items))
	for id := uint64(1); id <= items; id++ {
		infes = append(infes, heifInfe(3, uint32(id), "Exif", ""))
		iloc = append(iloc, heifInt(4, id)...)
		iloc = append(iloc, heifInt(2, 0)...) // construction method
		iloc = append(iloc, heifInt(2, 0)...) // data reference
		iloc = append(iloc, heifInt(2, 1)...) // one extent
		iloc = append(iloc, heifInt(4, uint64(28+len(heifMdat))+id-1)...)
		iloc = append(iloc, heifInt(4, 1)...)
	}
	file := heifFile(mdat, false, heifIinf(1, infes...), heifFullBox("iloc", 2, iloc))
	start := time.Now()
	_, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(file))
	if err != nil && !errors.Is(err, metadata.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("%d items took %v to clean", items, d)
	}
}

// Extents that all cover the same large range must not make the cleaner
// overwrite it again and again (65,535 extents × 8 MiB is half a terabyte
// of writing).
func TestHEIFOverlappingExtentsAreNotBlankedOverAndOver(t *testing.T) {
	mdat := slices.Concat(heifImage, heifExif, make([]byte, 8<<20))
	// An iloc box of version 1 with one entry, item 2, of 65,535 extents.
	iloc := slices.Concat([]byte{0x44, 0x00}, heifInt(2, 1), heifInt(2, 2), heifInt(2, 0), heifInt(2, 0), heifInt(2, 0xFFFF))
	for range 0xFFFF {
		iloc = append(iloc, heifInt(4, 28)...)
		iloc = append(iloc, heifInt(4, uint64(len(mdat)))...)
	}
	file := heifFile(mdat, false,
		heifIinf(0, heifInfe(2, 2, "Exif", "")),
		heifFullBox("iloc", 1, iloc))
	start := time.Now()
	var out bytes.Buffer
	_, err := metadata.Clean(&out, bytes.NewReader(file))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cleaning took %v", d)
	}
	if err == nil && bytes.Contains(out.Bytes(), []byte("ForcePhone")) {
		t.Fatal("accepted with its Exif")
	}
	if err != nil && !errors.Is(err, metadata.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}
