// Command candour runs the Candour whistleblower service and its offline
// tools. See `candour help`.
package main

import (
	"fmt"
	"github.com/candour/candour/metadata"
	"io"
	"os"
)

func main() {
	// A process started to clean one uploaded file (see the metadata
	// package) does only that.
	metadata.RunCleanerProcessIfAsked()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Candour: an anonymous, encrypted reporting service.

Usage:
  candour serve   [--addr HOST:PORT] [--data DIR] [--database URL] [--recipients FILE] …
  candour keygen  [-o FILE] [--classic]
  candour keygen  -y [-o FILE] [IDENTITY_FILE]
  candour export  [--data DIR | --database URL] --out DIR
  candour backup  [--data DIR | --database URL] --out FILE
  candour decrypt -i IDENTITY [-o DIR] EXPORT_DIR
  candour admin create [--data DIR | --database URL] --username NAME [--url BASE_URL]
  candour audit verify [--data DIR | --database URL]
  candour questionnaire show [--data DIR | --database URL] --channel ID [--version N]
  candour questionnaire set  [--data DIR | --database URL] --channel ID FILE.json
  candour healthcheck [--url URL]
  candour migrate [--data DIR | --database URL] [--apply]
  candour migrate-db --from DATA_DIR --to postgres://USER@HOST/NAME [--verify-only]

Run "candour COMMAND -h" for the flags of a command. Every flag of serve can
also be set through an environment variable: --max-upload is CANDOUR_MAX_UPLOAD.
--database, for every command, falls back to CANDOUR_DATABASE: a SQLite data
folder, or a postgres:// URL (with its password in PGPASSWORD or PGPASSFILE).
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(args[1:], stderr)
	case "keygen":
		err = runKeygen(args[1:], stdout, stderr)
	case "export":
		err = runExport(args[1:], stdout, stderr)
	case "backup":
		err = runBackup(args[1:], stdout, stderr)
	case "decrypt":
		err = runDecrypt(args[1:], stdout, stderr)
	case "admin":
		err = runAdmin(args[1:], stdout, stderr)
	case "audit":
		err = runAudit(args[1:], stdout, stderr)
	case "questionnaire":
		err = runQuestionnaire(args[1:], stdout, stderr)
	case "healthcheck":
		err = runHealthcheck(args[1:], stdout, stderr)
	case "migrate":
		err = runMigrate(args[1:], stdout, stderr)
	case "migrate-db":
		err = runMigrateDB(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "candour: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == errUsage {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "candour %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
