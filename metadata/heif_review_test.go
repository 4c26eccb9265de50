package metadata_test

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"testing"

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
// locations without comparing every item with every location. The work is
// counted (items, extents and bytes overwritten), not timed: 1,000 and
// 4,000 items first, so that a quadratic cleaner fails fast, then the
// 60,000 of the fixture.
func TestHEIFManyMetadataItemsAreCleanedInLinearTime(t *testing.T) {
	t.Parallel()
	work := func(items int) int {
		// Each item has one byte of its own, after the hand-made contents.
		mdat := slices.Concat(heifMdat, make([]byte, items))
		var infes [][]byte
		// An iloc box of version 2: 4-byte offsets and lengths, 4-byte ids.
		iloc := slices.Concat([]byte{0x44, 0x00}, heifInt(4, uint64(items)))
		for id := uint64(1); id <= uint64(items); id++ {
			infes = append(infes, heifInfe(3, uint32(id), "Exif", ""))
			iloc = append(iloc, heifInt(4, id)...)
			iloc = append(iloc, heifInt(2, 0)...) // construction method
			iloc = append(iloc, heifInt(2, 0)...) // data reference
			iloc = append(iloc, heifInt(2, 1)...) // one extent
			iloc = append(iloc, heifInt(4, uint64(28+len(heifMdat))+id-1)...)
			iloc = append(iloc, heifInt(4, 1)...)
		}
		file := heifFile(mdat, false, heifIinf(1, infes...), heifFullBox("iloc", 2, iloc))
		res, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(file))
		if err != nil && !errors.Is(err, metadata.ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
		return metadata.Work(res)
	}
	small, large := work(1000), work(4000)
	if small < 1000 {
		t.Fatalf("1,000 items counted %d steps: the count is not wired to the items", small)
	}
	if large > 5*small {
		t.Fatalf("4 times the items took %d steps, %.1f times the %d of 1,000 items: more than linear", large, float64(large)/float64(small), small)
	}
	// About 5 steps an item: the item, its extent, its one byte, and the
	// binary search for its box among the file's three.
	const items = 60000
	if w := work(items); w > 8*items {
		t.Fatalf("%d items took %d steps to clean, want at most %d", items, w, 8*items)
	}
}

// Extents that all cover the same large range must not make the cleaner
// overwrite it again and again (65,535 extents × 8 MiB is half a terabyte
// of writing). What is counted is the bytes overwritten (and the extents
// gone through): never more than the file holds, whether the cleaner
// refuses the file or not. A small copy (16 extents of 64 KiB) goes first,
// so that a cleaner without the bound fails fast.
func TestHEIFOverlappingExtentsAreNotBlankedOverAndOver(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ extents, size int }{{16, 64 << 10}, {0xFFFF, 8 << 20}} {
		mdat := slices.Concat(heifImage, heifExif, make([]byte, c.size))
		// An iloc box of version 1 with one entry, item 2, of many extents.
		iloc := slices.Concat([]byte{0x44, 0x00}, heifInt(2, 1), heifInt(2, 2), heifInt(2, 0), heifInt(2, 0), heifInt(2, uint64(c.extents)))
		for range c.extents {
			iloc = append(iloc, heifInt(4, 28)...)
			iloc = append(iloc, heifInt(4, uint64(len(mdat)))...)
		}
		file := heifFile(mdat, false,
			heifIinf(0, heifInfe(2, 2, "Exif", "")),
			heifFullBox("iloc", 1, iloc))
		var out bytes.Buffer
		res, err := metadata.Clean(&out, bytes.NewReader(file))
		if w := metadata.Work(res); w < c.size || w > 2*len(file) {
			t.Fatalf("%d extents of %d bytes in a %d-byte file: %d steps, want from %d (one overwrite) to %d", c.extents, len(mdat), len(file), w, c.size, 2*len(file))
		}
		if err == nil && bytes.Contains(out.Bytes(), []byte("ForcePhone")) {
			t.Fatal("accepted with its Exif")
		}
		if err != nil && !errors.Is(err, metadata.ErrMalformed) {
			t.Fatalf("err = %v, want ErrMalformed", err)
		}
	}
}

// Many top-level boxes before the media data, and an item of many
// extents in it: each extent is placed in its box by binary search, not by
// trying every box (boxes × extents comparisons, hours of CPU for a file
// of 32 MiB). Counted, not timed: 4 times the boxes and the extents take
// about 5 times the steps (n log n), where trying every box takes 16.
func TestHEIFManyTopLevelBoxesAreNotTriedForEachExtent(t *testing.T) {
	t.Parallel()
	work := func(n int) int {
		free := bytes.Repeat(heifBox("free"), n)
		// The Exif item has n one-byte extents, in an mdat box after the
		// free boxes, at the end of the file.
		file := func(lastMdat uint64) []byte {
			iloc := slices.Concat([]byte{0x44, 0x00}, heifInt(2, 1), heifInt(2, 2), heifInt(2, 0), heifInt(2, 0), heifInt(2, uint64(n)))
			for i := range n {
				iloc = append(iloc, heifInt(4, lastMdat+uint64(i))...)
				iloc = append(iloc, heifInt(4, 1)...)
			}
			head := heifFile(slices.Concat(heifImage, heifExif), false,
				heifIinf(0, heifInfe(2, 2, "Exif", "")), heifFullBox("iloc", 1, iloc))
			return slices.Concat(head, free, heifBox("mdat", make([]byte, n)))
		}
		f := file(0)
		f = file(uint64(len(f) - n)) // the same length: now pointing at the last mdat's payload
		res, err := metadata.Clean(&bytes.Buffer{}, bytes.NewReader(f))
		if err != nil {
			t.Fatalf("%d boxes and extents: %v", n, err)
		}
		return metadata.Work(res)
	}
	small, large := work(1000), work(4000)
	if small < 1000 {
		t.Fatalf("1,000 extents counted %d steps: the count is not wired to the extents", small)
	}
	if large > 8*small {
		t.Fatalf("4 times the boxes and extents took %d steps, %.1f times the %d of 1,000: every box is tried for every extent", large, float64(large)/float64(small), small)
	}
	// The largest count an iloc entry holds, beside as many boxes: about
	// 20 steps an extent (itself, its byte, and log2(n) boxes looked at).
	const n = 0xFFFF
	if w := work(n); w > 24*n {
		t.Fatalf("%d boxes and extents took %d steps, want at most %d", n, w, 24*n)
	}
}
