package metadata

import (
	"bytes"
	"encoding/binary"
	"io"
)

// removedOther names RIFF chunks other than the picture's, which some
// readers take artist, comments or dates from.
const removedOther = "other embedded data (such as artist, comments, dates)"

// The VP8X flag bits that announce EXIF and XMP chunks. They are cleared
// with the chunks so that a reader is not sent looking for what is gone.
const (
	vp8xFlagExif = 0x08
	vp8xFlagXMP  = 0x04
)

func isWebP(head []byte) bool {
	return len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP"
}

// cleanWebP keeps the chunks of a WebP (a RIFF file) that make its
// picture, byte for byte, pad byte included: the image (VP8, VP8L, VP8X,
// ALPH, ANIM and ANMF frames) and its colour profile (ICCP). It drops the
// EXIF and "XMP " chunks, and every other chunk too: decoders ignore them,
// but exiftool reads RIFF metadata from them (an artist and comments from
// a LIST INFO chunk, XMP from _PMX, a date from IDIT), so an unknown chunk
// is not a safe one. An animation frame (ANMF) is kept whole, with any
// chunk inside it.
//
// The RIFF size must match the file's length exactly. A file with bytes
// after its last chunk, or one cut short, is refused rather than guessed
// at: bytes outside the chunks could hide anything, and libwebp writes
// exact sizes, so a mismatch is a sign of damage or of something appended.
func cleanWebP(w io.Writer, data []byte) (Result, error) {
	res := Result{Format: "WebP"}
	if len(data) < 12 || !isWebP(data) {
		return res, malformed("WebP without a RIFF header")
	}
	if len(data) == 12 {
		return res, malformed("WebP without an image")
	}
	if riffSize := binary.LittleEndian.Uint32(data[4:8]); uint64(riffSize)+8 != uint64(len(data)) {
		return res, malformed("WebP RIFF size %d does not match its %d bytes", riffSize, len(data))
	}
	out := make([]byte, 12, len(data))
	copy(out, data[:12])
	for pos := 12; pos < len(data); {
		if len(data)-pos < 8 {
			return res, malformed("WebP chunk header cut short at %d", pos)
		}
		fourCC := string(data[pos : pos+4])
		size := uint64(binary.LittleEndian.Uint32(data[pos+4 : pos+8]))
		end := uint64(pos) + 8 + size + size&1 // chunks are padded to even sizes
		if end > uint64(len(data)) {
			return res, malformed("WebP chunk %q at %d runs past the end", fourCC, pos)
		}
		if pos == 12 && fourCC != "VP8 " && fourCC != "VP8L" && fourCC != "VP8X" {
			return res, malformed("WebP starts with chunk %q, not an image header", fourCC)
		}
		switch fourCC {
		case "EXIF":
			res.remove(removedExif)
		case "XMP ":
			res.remove(removedXMP)
		case "VP8X":
			if size < 10 {
				return res, malformed("WebP VP8X chunk of %d bytes", size)
			}
			flags := len(out) + 8
			out = append(out, data[pos:end]...)
			out[flags] &^= vp8xFlagExif | vp8xFlagXMP
		case "VP8 ", "VP8L", "ALPH", "ANIM", "ANMF", "ICCP":
			out = append(out, data[pos:end]...)
		default:
			res.remove(removedOther)
		}
		pos = int(end)
	}
	// The result is never larger than the RIFF size read above, so it fits.
	binary.LittleEndian.PutUint32(out[4:8], uint32(len(out)-8))
	_, err := w.Write(out)
	return res, err
}
