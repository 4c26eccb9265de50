package storage_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/candour/candour/storage"
)

// On a full disk an upload fails with ErrFull, and deleting what it stored
// still fits (secure_delete = FAST, and if need be the room of the reserve
// file): no chunk stays behind, and once space returns uploads work again.
func TestChunkFileOnAFullDisk(t *testing.T) {
	sqliteOnly(t, "the data folder's file system filling up, secure_delete = FAST and the reserve file")
	if testing.Short() {
		t.Skip("fills a file system: skipped in -short mode")
	}
	t.Parallel()
	ctx := context.Background()
	mnt := filepath.Join(t.TempDir(), "small-fs")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=16m,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill up (%v): this test needs root (or CAP_SYS_ADMIN)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	dir := filepath.Join(mnt, "data")
	db := mustOpenDBAt(t, dir)
	reserve := filepath.Join(dir, storage.ReserveFileName)
	if st, err := os.Stat(reserve); err != nil || st.Size() == 0 {
		t.Fatalf("no reserve file in the data folder: %v", err)
	}
	kept := pattern(storage.ChunkSize, 101)
	keptID := mustWriteAttachment(t, db, kept)
	mustCreateCase(t, db, "before", keptID)

	// Leave about 2 MiB free, less than the next upload.
	filler := filepath.Join(mnt, "filler")
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filler, make([]byte, int64(st.Bavail)*st.Bsize-2<<20), 0o600); err != nil {
		t.Fatal(err)
	}

	w, err := db.NewAttachment(ctx)
	if err != nil {
		t.Fatalf("NewAttachment on a nearly full disk: %v", err)
	}
	big := pattern(6*storage.ChunkSize, 102)
	_, werr := w.Write(big)
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("a 6 MiB upload into 2 MiB of free space succeeded")
	}
	if err := errors.Join(werr, cerr); !errors.Is(err, storage.ErrFull) {
		t.Errorf("the failed upload's error is not ErrFull: %v", err)
	}
	if err := db.DeletePending(ctx, w.ID()); err != nil {
		t.Fatalf("DeletePending on a full disk: %v", err)
	}
	if apart, legacy := fileChunks(t, dir); apart != 1 || legacy != 0 {
		t.Errorf("after the refused upload: %d chunks in the chunk file, %d in candour.db; want only the earlier 1", apart, legacy)
	}
	if _, got := mustReadAttachment(t, db, keptID); !bytes.Equal(got, kept) {
		t.Error("the earlier attachment changed")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	again := pattern(3*storage.ChunkSize, 103)
	id := mustWriteAttachment(t, db, again)
	mustCreateCase(t, db, "after", id)
	if _, got := mustReadAttachment(t, db, id); !bytes.Equal(got, again) {
		t.Error("an upload after space returned does not read back")
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	// The reserve given up on the full disk is made again at the next
	// start, now that there is room.
	db.Close()
	mustOpenDBAt(t, dir)
	if st, err := os.Stat(reserve); err != nil || st.Size() == 0 {
		t.Errorf("the reserve file is not back after a start with room: %v", err)
	}
}
