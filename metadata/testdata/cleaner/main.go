// Command cleaner is the process that cleans one uploaded file, and
// nothing else: what candour becomes when the server starts it to clean a
// file (metadata.RunCleanerProcessIfAsked). Tests of the packages that
// clean files start this one instead of their own test binary, which the
// race detector builds with shadow memory that no memory limit admits.
package main

import (
	"os"

	"github.com/candour/candour/metadata"
)

func main() {
	metadata.RunCleanerProcessIfAsked()
	os.Stderr.WriteString("cleaner: started other than as a cleaning process\n")
	os.Exit(2)
}
