package storage

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
)

// ReserveFileName is a file of random bytes that Open keeps in the data folder, so
// that a full disk never keeps Candour from deleting what a refused upload
// stored. A write that fails for lack of space in WAL mode leaves the WAL
// as long as it got; deleting the upload's rows and chunks then needs a
// few pages of WAL, and a disk filled to the last byte has none. Giving up
// the reserve (useReserve) frees that room; keepReserve makes it again
// once there is space.
const ReserveFileName = "candour.reserve"

// reserveSize is room enough to delete an upload's rows and chunks with
// secure_delete = FAST (a few pages of each file's WAL) and to checkpoint
// the chunk file's WAL.
const reserveSize = 8 << 20

func (db *DB) reservePath() string { return filepath.Join(filepath.Dir(db.path), ReserveFileName) }

// keepReserve makes the reserve file if it is missing and the disk has
// room for it. A partial file (the disk filled up while it was written) is
// removed rather than kept short.
func (db *DB) keepReserve() {
	if db.readOnly || db.cw == nil || db.pg {
		return
	}
	path := db.reservePath()
	if st, err := os.Stat(path); err == nil && st.Size() == reserveSize {
		return
	}
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	// Random, not zeros: a compressing or deduplicating file system
	// would store zeros in next to nothing, and giving them up would free
	// nothing.
	buf := make([]byte, reserveSize)
	rand.Read(buf)
	_, err = f.Write(buf)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
}

// useReserve removes the reserve file, if there is one, and reports
// whether it did: a deletion that failed for lack of space may then be
// tried again.
func (db *DB) useReserve() bool {
	return os.Remove(db.reservePath()) == nil
}

// deleteOnFullDisk runs a deletion (del) and, if the disk is full, again
// with secure_delete = FAST (fast), which frees pages without rewriting
// them; if even that does not fit, it gives up the reserve and tries fast
// once more. Every deletion that must fit on a full disk (a refused
// upload's rows and chunks) goes through it.
//
// On PostgreSQL it runs del once: a deletion there rewrites no page, and
// the server's disk is not Candour's to make room on (no reserve file).
func (db *DB) deleteOnFullDisk(del, fast func() error) error {
	err := del()
	if db.pg {
		return err
	}
	if errors.Is(err, ErrFull) {
		err = fast()
	}
	if errors.Is(err, ErrFull) && db.useReserve() {
		err = fast()
	}
	return err
}
