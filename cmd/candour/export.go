package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// The manifest's types live with the export writer (server/export.go),
// which the staff console's export shares; decrypt reads them by these
// names.
const manifestFormat = server.ManifestFormat

type (
	Manifest              = server.Manifest
	ManifestQuestionnaire = server.ManifestQuestionnaire
	ManifestChannelKey    = server.ManifestChannelKey
	ManifestCase          = server.ManifestCase
	ManifestFile          = server.ManifestFile
)

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "export [--data DIR | --database URL] --out DIR", stderr)
	dbFlags := addDatabaseFlags(fs, "the server's data `DIR`")
	out := fs.String("out", "", "write the export to `DIR` (must not exist, or be empty)")
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
	if err := makeEmptyDir(*out); err != nil {
		return err
	}
	db, err := openTool(d)
	if err != nil {
		return err
	}
	defer db.Close()

	ctx := context.Background()
	m, err := server.WriteExport(ctx, db, server.DirTarget(*out), server.ExportOptions{
		Identity: true,
		Created:  time.Now(),
		Warn:     func(msg string) { fmt.Fprintln(stderr, msg) },
	})
	if err != nil {
		return err
	}
	files := m.Files()
	if _, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: storage.ActorCLI, Action: "export",
		Detail: fmt.Sprintf("%d cases, %d files", len(m.Cases), files)}); err != nil {
		return fmt.Errorf("exported, but failed to record it in the audit trail: %w", err)
	}
	fmt.Fprintf(stdout, "exported %d cases (%d age files) to %s\n", len(m.Cases), files, *out)
	return nil
}

// makeEmptyDir creates dir, or accepts it if it exists and is empty.
func makeEmptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}
