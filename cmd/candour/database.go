package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/candour/candour/storage"
)

// Every command that opens the database takes --database (with the
// environment variable CANDOUR_DATABASE as its fallback) beside --data:
//
//   - empty: SQLite in the --data folder, as before --database existed;
//   - a path, or sqlite:PATH: SQLite in that folder (the same as --data
//     PATH);
//   - a postgres:// or postgresql:// URL: PostgreSQL (storage.OpenPostgres).
//     Its password is best left out of the URL, which a command line shows
//     to every user of the machine: libpq's PGPASSWORD or a PGPASSFILE
//     supply it (pgx reads them).
//
// On PostgreSQL, serve keeps using --data for its files other than the
// database (the onion service's key); the tools need no --data.

const databaseHelp = "the database: a SQLite data folder (a path, or sqlite:PATH; the same as --data PATH) or a PostgreSQL `URL` " +
	"(postgres://user@host/name; the password from PGPASSWORD or PGPASSFILE rather than the URL); default: SQLite in --data, " +
	"or $CANDOUR_DATABASE"

// database is the database a command opens.
type database struct {
	// dir is the SQLite data folder; empty on PostgreSQL.
	dir string
	// url is the PostgreSQL URL; empty on SQLite. Never print it: it may
	// carry a password (see String).
	url string
}

// postgres reports whether d is on PostgreSQL.
func (d database) postgres() bool { return d.url != "" }

// String names d for logs and messages, without any password.
func (d database) String() string {
	if d.postgres() {
		return redactURL(d.url)
	}
	return d.dir
}

// databaseFlags are a command's --data and --database.
type databaseFlags struct {
	fs       *flag.FlagSet
	data     *string
	database *string
}

// addDatabaseFlags adds --data (with dataHelp) and --database to fs.
func addDatabaseFlags(fs *flag.FlagSet, dataHelp string) databaseFlags {
	return databaseFlags{
		fs:       fs,
		data:     fs.String("data", "data", dataHelp),
		database: fs.String("database", "", databaseHelp),
	}
}

// resolve returns the database that the flags (parsed already) choose:
// --database if given, else CANDOUR_DATABASE if set (serve's parseFlags has
// set --database from it already), else SQLite in --data.
func (f databaseFlags) resolve() (database, error) {
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	spec := *f.database
	if !given["database"] {
		spec = os.Getenv("CANDOUR_DATABASE")
	}
	if spec == "" {
		return database{dir: *f.data}, nil
	}
	d, err := parseDatabase(spec)
	if err != nil {
		return database{}, err
	}
	if d.postgres() {
		return d, nil
	}
	// A SQLite folder named twice must be named the same: serve keeps the
	// onion service's key in --data, beside the database.
	if given["data"] && filepath.Clean(*f.data) != filepath.Clean(d.dir) {
		return database{}, fmt.Errorf("--database names the SQLite folder %s and --data the folder %s: give one of them", d.dir, *f.data)
	}
	*f.data = d.dir
	return d, nil
}

// parseDatabase reads a --database value.
func parseDatabase(spec string) (database, error) {
	scheme, rest, hasScheme := strings.Cut(spec, ":")
	switch {
	case hasScheme && (scheme == "postgres" || scheme == "postgresql"):
		if _, err := url.Parse(spec); err != nil || !strings.HasPrefix(rest, "//") {
			// url's error quotes the URL, password and all.
			return database{}, errors.New("--database: the PostgreSQL URL could not be read: check its form (postgres://user@host/name)")
		}
		return database{url: spec}, nil
	case hasScheme && scheme == "sqlite":
		if rest == "" {
			return database{}, errors.New("--database: sqlite: needs the data folder's path (sqlite:PATH)")
		}
		return database{dir: strings.TrimPrefix(rest, "//")}, nil
	case hasScheme && len(scheme) > 1 && strings.HasPrefix(rest, "//"):
		return database{}, fmt.Errorf("--database: unknown database kind %q: give a path, sqlite:PATH or a postgres:// URL", scheme)
	}
	return database{dir: spec}, nil
}

// redactURL is a PostgreSQL URL as it may be shown: its scheme, user, host
// and database name, without its password or parameters (which may hold
// one too).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://…"
	}
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		shown.User = url.User(u.User.Username())
	}
	if host := u.Query().Get("host"); u.Host == "" && host != "" {
		// A Unix socket's directory, as the host parameter.
		return shown.String() + "?host=" + url.QueryEscape(host)
	}
	return shown.String()
}

// openServer opens d for `candour serve`: creating and migrating it.
func openServer(d database) (*storage.DB, error) {
	if d.postgres() {
		return storage.OpenPostgres(d.url)
	}
	return storage.Open(d.dir)
}

// checkPostgresPrivacy refuses to serve on a PostgreSQL server whose
// settings record the time of every report (storage.CheckPostgresPrivacy),
// naming each setting and its fix, and logs a warning for each setting
// that records the time of some. On SQLite it does nothing.
func checkPostgresPrivacy(db *storage.DB, log *slog.Logger) error {
	refused, warned, err := db.CheckPostgresPrivacy(context.Background())
	if err != nil {
		return err
	}
	for _, s := range warned {
		log.Warn("PostgreSQL records when some reports came: "+s.Why, "setting", s.Name, "value", s.Value, "fix", s.Fix)
	}
	if len(refused) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("refusing to serve: PostgreSQL is set to record when every report comes, which Candour must never keep (no precise time of a reporter's request at rest: SECURITY.md, Known limitations, PostgreSQL). Change in postgresql.conf, ALTER SYSTEM, or the database's or role's settings, then reload PostgreSQL:")
	for _, s := range refused {
		b.WriteString("\n  - " + s.String())
	}
	return errors.New(b.String())
}

// openTool opens d for a tool that runs beside the server and writes only
// small records: it neither migrates nor deletes uploads in progress.
func openTool(d database) (*storage.DB, error) {
	if d.postgres() {
		return storage.OpenPostgresTool(d.url)
	}
	return storage.OpenTool(d.dir)
}

// openReadOnly opens d for reading only.
func openReadOnly(d database) (*storage.DB, error) {
	if d.postgres() {
		return storage.OpenPostgresReadOnly(d.url)
	}
	return storage.OpenReadOnly(d.dir)
}

// openToolOrCreate opens d for a tool like openTool, or, if no server has
// started on d yet, creates it as serve would: nothing runs beside the
// tool then, so nothing can be harmed.
func openToolOrCreate(d database) (*storage.DB, error) {
	if d.postgres() {
		db, err := storage.OpenPostgresTool(d.url)
		if errors.Is(err, storage.ErrNoDatabase) {
			return storage.OpenPostgres(d.url)
		}
		return db, err
	}
	if _, err := os.Stat(filepath.Join(d.dir, storage.FileName)); errors.Is(err, os.ErrNotExist) {
		return storage.Open(d.dir)
	}
	return storage.OpenTool(d.dir)
}
