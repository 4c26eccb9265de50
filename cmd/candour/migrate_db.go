package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/candour/candour/storage"
)

const migrateDBSynopsis = "migrate-db --from DATA_DIR --to postgres://USER@HOST/NAME [--password-file FILE] [--verify-only]"

// runMigrateDB handles `candour migrate-db`: it moves a SQLite
// installation into PostgreSQL, in one transaction, and verifies the copy
// (storage.MigrateToPostgres); with --verify-only it only compares the
// two (storage.VerifyMigration).
func runMigrateDB(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate-db", migrateDBSynopsis, stderr)
	from := fs.String("from", "", "the SQLite installation's data `DIR` (its server stopped)")
	to := fs.String("to", "", "the PostgreSQL database's `URL`, without its password (which comes from --password-file, PGPASSWORD or PGPASSFILE); default: $CANDOUR_DATABASE")
	passwordFile := fs.String("password-file", "", "read the PostgreSQL password from `FILE` (its first line)")
	verifyOnly := fs.Bool("verify-only", false, "copy nothing: only compare the SQLite installation with the PostgreSQL database, as after a copy")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: candour %s\n\n"+
			"Moves a SQLite installation into an empty PostgreSQL database: every table, and every attachment's\n"+
			"chunks, in one PostgreSQL transaction, committed only once the copy verifies (rows of every table,\n"+
			"SHA-256 of every ciphertext and of every attachment's whole stream). Then verifies again from a\n"+
			"fresh read, with the audit trail's hash chain. Stop the server first: an installation in use is refused.\n"+
			"Staff sessions are not moved (staff log in again), nor passkey ceremonies in progress.\n\n", migrateDBSynopsis)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *to == "" {
		*to = os.Getenv("CANDOUR_DATABASE")
	}
	if *from == "" || *to == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	d, err := parseDatabase(*to)
	if err != nil {
		return err
	}
	if !d.postgres() {
		return fmt.Errorf("--to must be a postgres:// URL")
	}
	if d, err = withPasswordFile(d, *passwordFile); err != nil {
		return err
	}
	ctx := context.Background()
	var sum storage.MigrateSummary
	if *verifyOnly {
		sum, err = storage.VerifyMigration(ctx, *from, d.url)
		if err != nil {
			return fmt.Errorf("the PostgreSQL database does NOT match %s: %w", *from, err)
		}
	} else {
		sum, err = storage.MigrateToPostgres(ctx, *from, d.url)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Copied %s into %s in one transaction.\n", *from, d)
	}
	for _, t := range sum.Tables {
		if t.Rows > 0 {
			fmt.Fprintf(stdout, "  %-28s %d rows\n", t.Name, t.Rows)
		}
	}
	skipped := make([]string, 0, len(sum.Skipped))
	for name := range sum.Skipped {
		skipped = append(skipped, name)
	}
	sort.Strings(skipped)
	for _, name := range skipped {
		fmt.Fprintf(stdout, "  %-28s not moved: %s\n", name, sum.Skipped[name])
	}
	fmt.Fprintf(stdout, "verified: %d rows in %d tables equal on both sides; SHA-256 equal for %d ciphertexts and %d attachments (%s); audit trail intact (%d entries).\n",
		sum.Rows(), len(sum.Tables), sum.Ciphertexts, sum.Attachments, humanBytes(sum.AttachmentBytes), sum.AuditEntries)
	if !*verifyOnly {
		fmt.Fprintf(stdout, "Next: start the servers with --database (or CANDOUR_DATABASE) set to the PostgreSQL URL. "+
			"Keep %s, unchanged and as safe as the server, until you no longer need to go back; then delete it.\n", *from)
	}
	return nil
}

// humanBytes is n bytes for people: 1.5 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, []string{"KiB", "MiB", "GiB", "TiB"}[i])
}
