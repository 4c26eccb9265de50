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
	fs := newFlags("backup", "backup --data DIR --out FILE", stderr)
	data := fs.String("data", "data", "the server's data `DIR`")
	out := fs.String("out", "", "the backup `FILE` to write (must not exist)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	db, err := storage.OpenTool(*data)
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
	fmt.Fprintf(stdout, "Backup written to %s and checked. It holds only ciphertext and the case index, but keep it as safe as the server.\n"+
		"To restore: stop the server, copy it to DIR/%s (removing any %s-wal, %s-shm and %s there), start the server.\n",
		*out, storage.FileName, storage.FileName, storage.FileName, storage.ChunksFileName)
	return nil
}
