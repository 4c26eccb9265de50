package metadata

import (
	"io"
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

// cleanHEIF is not written yet: the file passes through.
func cleanHEIF(w io.Writer, data []byte) (Result, error) {
	_, err := w.Write(data)
	return Result{}, err
}
