package main

import (
	"context"
	"fmt"
	"io"

	"github.com/candour/candour/storage"
)

// runBackup handles `candour backup`: a consistent copy of the database,
// taken while the server runs, to restore by putting it back as the data
// folder's candour.db with the server stopped.
func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "backup [--data DIR | --database URL] --out FILE", stderr)
	dbFlags := addDatabaseFlags(fs, "the server's data `DIR`")
	out := fs.String("out", "", "the backup `FILE` to write (must not exist)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	d, err := dbFlags.resolve()
	if err != nil {
		return err
	}
	db, err := openTool(d)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Backup(ctx, *out); err != nil {
		return err
	}
	if _, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: storage.ActorCLI, Action: "backup"}); err != nil {
		return err
	}
	if d.postgres() {
		fmt.Fprintf(stdout, "Backup written to %s and checked: a SQLite copy of the PostgreSQL database, from one snapshot. "+
			"It holds only ciphertext and the case index, but keep it as safe as the server.\n"+
			"To restore it as a SQLite installation: copy it to an empty data folder as %s and start the server with --data there. "+
			"For PostgreSQL's own backups (pg_basebackup, WAL archiving) see the operator guide.\n",
			*out, storage.FileName)
		return nil
	}
	fmt.Fprintf(stdout, "Backup written to %s and checked. It holds only ciphertext and the case index, but keep it as safe as the server.\n"+
		"To restore: stop the server, copy it to DIR/%s (removing any %s-wal, %s-shm and %s there), start the server.\n",
		*out, storage.FileName, storage.FileName, storage.FileName, storage.ChunksFileName)
	return nil
}
