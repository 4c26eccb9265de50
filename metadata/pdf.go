package metadata

import (
	"bytes"
	"io"
)

func isPDF(head []byte) bool { return bytes.HasPrefix(head, []byte("%PDF-")) }

// cleanPDF is not written yet: the file passes through.
func cleanPDF(w io.Writer, data []byte) (Result, error) {
	_, err := w.Write(data)
	return Result{}, err
}
