package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/candour/candour/storage"
)

const migrateSynopsis = "migrate [--data DIR | --database URL] [--password-file FILE] [--apply]"

// runMigrate handles `candour migrate`: it lists the engine's embedded
// schema migrations, each applied or pending, and with --apply applies the
// pending ones. `candour serve` applies them itself at start; this is for
// seeing where a database stands, and for migrating with the servers
// stopped before an upgrade. Other tools never migrate.
func runMigrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", migrateSynopsis, stderr)
	dbFlags := addDatabaseFlags(fs, "the server's data `DIR`")
	apply := fs.Bool("apply", false, "apply the pending migrations (on SQLite, stop the server first; "+
		"on PostgreSQL, under the lock that starting servers take, so that each migration runs once)")
	passwordFile := fs.String("password-file", "", "read the PostgreSQL password from `FILE` (its first line) rather than PGPASSWORD or PGPASSFILE")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: candour %s\n\n"+
			"Lists the database's schema migrations (embedded in this build, numbered for each engine)\n"+
			"as applied or pending. With --apply, applies the pending ones, each in its own transaction.\n"+
			"`candour serve` applies them at start anyway; the other tools never do.\n\n", migrateSynopsis)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	d, err := dbFlags.resolve()
	if err != nil {
		return err
	}
	if d, err = withPasswordFile(d, *passwordFile); err != nil {
		return err
	}
	ctx := context.Background()
	var before, st storage.MigrationStatus
	if d.postgres() {
		before, err = storage.PostgresMigrations(ctx, d.url)
	} else {
		before, err = storage.SQLiteMigrations(ctx, d.dir)
	}
	if err != nil {
		return err
	}
	st = before
	if *apply && before.Pending() > 0 {
		if !d.postgres() && !before.Exists {
			return fmt.Errorf("no database in %s yet: `candour serve` creates one", d.dir)
		}
		if d.postgres() {
			st, err = storage.ApplyPostgresMigrations(ctx, d.url)
		} else {
			st, err = storage.ApplySQLiteMigrations(ctx, d.dir)
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "Database: %s (%s)\n", d, st.Engine)
	for _, m := range st.Migrations {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		fmt.Fprintf(stdout, "  %-40s %s\n", m.Name, state)
	}
	latest := st.Migrations[len(st.Migrations)-1].Version
	switch {
	case *apply && before.Pending() > 0:
		fmt.Fprintf(stdout, "Applied %d migrations: the schema is at version %d.\n", before.Pending()-st.Pending(), st.Current)
	case !st.Exists:
		fmt.Fprintf(stdout, "No Candour database there yet: all %d migrations are pending.\n", len(st.Migrations))
	case st.Current > latest:
		fmt.Fprintf(stdout, "The schema is at version %d, newer than this build's %d: run a newer candour.\n", st.Current, latest)
	case st.Pending() == 0:
		fmt.Fprintf(stdout, "The schema is at version %d: up to date.\n", st.Current)
	default:
		fmt.Fprintf(stdout, "The schema is at version %d: %d pending. Run `candour migrate --apply` to apply them.\n", st.Current, st.Pending())
	}
	return nil
}

// withPasswordFile puts the password in file (its first line) into d's
// PostgreSQL URL, in memory only: never printed (database.String leaves
// it out) and never on a command line.
func withPasswordFile(d database, file string) (database, error) {
	if file == "" {
		return d, nil
	}
	if !d.postgres() {
		return d, errors.New("--password-file is for a PostgreSQL database")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return d, fmt.Errorf("failed to read the password file: %w", err)
	}
	password, _, _ := strings.Cut(string(b), "\n")
	password = strings.TrimRight(password, "\r")
	if password == "" {
		return d, errors.New("the password file's first line is empty")
	}
	u, err := url.Parse(d.url)
	if err != nil {
		return d, errors.New("the PostgreSQL URL could not be read: check its form (postgres://user@host/name)")
	}
	user := ""
	if u.User != nil {
		user = u.User.Username()
	}
	u.User = url.UserPassword(user, password)
	d.url = u.String()
	return d, nil
}
