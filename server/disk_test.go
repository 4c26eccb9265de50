package server_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// markedStream yields n bytes of text in which marker recurs every few
// kilobytes, so that any fragment of it written to disk in clear is found.
type markedStream struct {
	marker []byte
	n      int64
	line   []byte
	off    int
}

func (m *markedStream) Read(p []byte) (int, error) {
	if m.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > m.n {
		p = p[:m.n]
	}
	for i := range p {
		if m.off == len(m.line) {
			m.off = 0
		}
		p[i] = m.line[m.off]
		m.off++
	}
	m.n -= int64(len(p))
	return len(p), nil
}

func newMarkedStream(marker string, n int64) *markedStream {
	line := append(bytes.Repeat([]byte("evidence line of a chat export. "), 100), marker...)
	return &markedStream{marker: []byte(marker), n: n, line: append(line, '\n')}
}

// TestPlaintextNeverReachesDisk uploads a 200 MB attachment and a text body
// carrying unique markers, then searches the data folder (database, WAL,
// shm) and the process's temporary folder for them.
func TestPlaintextNeverReachesDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 200 MB")
	}
	if testEngine() == storage.EnginePostgres {
		// The test cluster is made under TMPDIR by the first test that
		// asks for it: make it before TMPDIR points into this test's
		// folder, which the server's user (postgres) cannot enter.
		pgtest.Start(t)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if os.TempDir() != tmp {
		t.Fatal("TMPDIR was not applied")
	}
	b := make([]byte, 16)
	rand.Read(b)
	textMarker := "TEXT-MARKER-" + hex.EncodeToString(b)
	rand.Read(b)
	fileMarker := "FILE-MARKER-" + hex.EncodeToString(b)
	rand.Read(b)
	nameMarker := "NAME-MARKER-" + hex.EncodeToString(b)

	ts := startServer(t, func(c *server.Config) { c.MaxFileBytes = 256 << 20 })
	code := submit(t, ts, "The report text "+textMarker,
		file{name: nameMarker + ".txt", ctype: "text/plain", r: newMarkedStream(fileMarker, 200<<20)})
	if code == "" {
		t.Fatal("no case code")
	}
	// A follow-up message too, through the reporter's session.
	c := login(t, ts, code)
	_, page := get(t, c, ts.URL+"/case")
	body, ctype := multipartBody([][2]string{{"csrf", csrfOf(t, page)}, {"body", "More " + textMarker}},
		[]file{{name: nameMarker + "-2.txt", ctype: "text/plain", r: newMarkedStream(fileMarker, 5<<20)}})
	res, _ := post(t, c, ts.URL+"/case/message", body, ctype)
	if res.StatusCode != 303 {
		t.Fatalf("follow-up message: %d", res.StatusCode)
	}

	markers := [][]byte{[]byte(textMarker), []byte(fileMarker), []byte(nameMarker)}
	// The scanner itself must find a marker that straddles its buffers.
	probe := filepath.Join(t.TempDir(), "probe")
	must(t, os.WriteFile(probe, append(bytes.Repeat([]byte{'.'}, 4<<20-10), fileMarker...), 0o600))
	if _, found := scanFile(t, probe, markers); found == "" {
		t.Fatal("scanner missed a marker")
	}
	// On SQLite the database is in the data folder. On PostgreSQL it is in
	// the cluster's data directory: this database's own files, once a
	// checkpoint has written its pages there, and the WAL (shared with the
	// other tests' databases, which hold no marker of this test's).
	dirs, stored := []string{ts.DataDir, tmp}, ts.DataDir
	if ts.DSN != "" {
		stored = postgresFilesOf(t, ts)
		dirs = append(dirs, stored, filepath.Join(pgtest.Start(t).DataDir(), "pg_wal"))
	}
	var scanned int64
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a WAL segment recycled meanwhile, say
			}
			if err != nil || d.IsDir() {
				return err
			}
			n, found := scanFile(t, path, markers)
			if dir == stored {
				scanned += n
			}
			if found != "" {
				t.Errorf("%s holds plaintext (%s)", path, found)
			}
			return nil
		})
	}
	if scanned < 200<<20 {
		t.Fatalf("scanned only %d bytes: the ciphertext is not where it should be", scanned)
	}
	if logs := ts.Log.String(); bytes.Contains([]byte(logs), []byte(textMarker)) {
		t.Error("the log holds report text")
	}
}

// scanFile searches a file for any marker, streaming with an overlap so
// that a marker across a buffer boundary is still found.
func scanFile(t *testing.T, path string, markers [][]byte) (int64, string) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "" // gone since it was listed: it holds nothing now
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const overlap = 64
	buf := make([]byte, 4<<20)
	keep := 0
	var total int64
	for {
		n, err := f.Read(buf[keep:])
		total += int64(n)
		window := buf[:keep+n]
		for _, m := range markers {
			if bytes.Contains(window, m) {
				return total, string(m[:12])
			}
		}
		if err == io.EOF {
			return total, ""
		}
		if err != nil {
			t.Fatal(err)
		}
		keep = min(overlap, len(window))
		copy(buf, window[len(window)-keep:])
	}
}

// postgresFilesOf checkpoints the test cluster, so that ts's database's
// pages are in its files and not only in the WAL and shared memory, and
// returns the directory of those files.
func postgresFilesOf(t *testing.T, ts *testServer) string {
	t.Helper()
	cluster := pgtest.Start(t)
	var oid int64
	must(t, rawDB(t, ts).QueryRow(`SELECT oid FROM pg_database WHERE datname = current_database()`).Scan(&oid))
	su, err := sql.Open("pgx", cluster.SuperuserDSN())
	must(t, err)
	defer su.Close()
	_, err = su.Exec(`CHECKPOINT`)
	must(t, err)
	return filepath.Join(cluster.DataDir(), "base", strconv.FormatInt(oid, 10))
}
