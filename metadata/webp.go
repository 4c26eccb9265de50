package metadata

import (
	"bytes"
	"io"
)

func isWebP(head []byte) bool {
	return len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP"
}

// cleanWebP is not written yet: the file passes through.
func cleanWebP(w io.Writer, data []byte) (Result, error) {
	_, err := w.Write(data)
	return Result{}, err
}
