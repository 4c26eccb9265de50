package metadata_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/candour/candour/metadata"
)

// Files that are cleaned whole are read from the network first: a sender
// who trickles one in must not hold a cleaning slot while doing so, or two
// such senders would stop every PDF, Office, WebP and HEIF upload (and,
// as those wait, every upload slot) for as long as they keep trickling.
func TestSlowSendersDoNotHoldTheCleaningSlots(t *testing.T) {
	t.Parallel()
	cleaner := metadata.NewCleaner(0, 1)
	stalled, feed := io.Pipe()
	defer feed.Close()
	go func() {
		cleaner.Clean(io.Discard, stalled)
	}()
	if _, err := feed.Write([]byte("%PDF-1.7\n% more than the 32 bytes that Clean looks at first\n")); err != nil {
		t.Fatal(err)
	}
	// Once this is read, the PDF is being buffered; it then waits for its
	// next byte.
	if _, err := feed.Write([]byte("1 0 obj\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := cleaner.Clean(io.Discard, bytes.NewReader(handmadePDF()))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		// Generous: cleaning the small PDF takes milliseconds even on a
		// busy machine; only a slot held by the stalled sender waits this long.
		t.Fatal("after 2 minutes, a PDF still waited for a cleaning slot held by a sender who stopped sending")
	}
}
