package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"
)

// Backup writes a consistent copy of the database to dest with SQLite's
// online backup API, while the server goes on running: the copy is taken
// from one read snapshot, so it never holds half of a transaction. The copy
// holds what the database holds (ciphertext and the index around it), so it
// needs the same protection. dest must not exist; it is written beside
// itself under a temporary name, synced, checked and then renamed, so a
// failed backup never leaves a file that looks complete.
func (db *DB) Backup(ctx context.Context, dest string) (err error) {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s already exists", dest)
	}
	tmp := dest + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := db.copyTo(ctx, tmp); err != nil {
		return err
	}
	if err := checkCopy(tmp); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	return syncFile(filepath.Dir(dest))
}

func (db *DB) copyTo(ctx context.Context, path string) error {
	dc, err := (&sqlite3.SQLiteDriver{}).Open("file:" + path)
	if err != nil {
		return err
	}
	dst := dc.(*sqlite3.SQLiteConn)
	defer dst.Close()
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(raw any) error {
		src, ok := raw.(*sqlite3.SQLiteConn)
		if !ok {
			return errors.New("unexpected database driver")
		}
		b, err := dst.Backup("main", src, "main")
		if err != nil {
			return err
		}
		// One step: the whole copy comes from a single read snapshot.
		done, err := b.Step(-1)
		if ferr := b.Finish(); err == nil {
			err = ferr
		}
		if err == nil && !done {
			err = errors.New("backup did not complete")
		}
		return err
	})
}

// checkCopy opens the copy on its own and checks it is a sound database of
// this schema.
func checkCopy(path string) error {
	d := openPool(path, true)
	defer d.Close()
	var res string
	if err := d.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("the backup could not be checked: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("the backup failed its integrity check: %s", res)
	}
	var v int
	if err := d.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v != schemaVersion() {
		return fmt.Errorf("the backup has schema version %d, want %d", v, schemaVersion())
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
