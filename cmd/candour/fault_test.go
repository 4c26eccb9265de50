package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Fault tests: the real binary is killed mid-write, and run out of disk,
// and must keep its two promises: nothing acknowledged is lost, and a
// refused submission leaves nothing behind.

var caseCodeRE = regexp.MustCompile(`id="case-code">([^<]+)<`)

// lockedBuffer collects a child process's output; the process writes it
// from exec's goroutines while the test may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer starts `candour serve` on addr (fast KDF, no submission
// budget to speak of) and waits until it answers 200 on /. Unlike serve it
// leaves stopping to the test, which may kill it: a cleanup only makes sure
// it is gone, and prints its log if the test failed. extra are more flags.
func startServer(t *testing.T, data, recipients, addr string, extra ...string) *exec.Cmd {
	t.Helper()
	return startServerEnv(t, nil, data, recipients, addr, extra...)
}

// startServerEnv is startServer with extra environment variables (say,
// CANDOUR_DATABASE, so that a database's URL is not on the command line).
func startServerEnv(t *testing.T, env []string, data, recipients, addr string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(candourBin, append([]string{"serve", "--addr", addr, "--data", data, "--recipients", recipients,
		"--kdf-memory-mib", "8", "--kdf-time", "1", "--login-floor", "10ms",
		"--submissions-per-minute", "1000000"}, extra...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	onEngine(t, cmd)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // an error if it was already stopped and waited for
		cmd.Wait()
		if t.Failed() {
			t.Logf("log of server process %d:\n%s", cmd.Process.Pid, logs.String())
		}
	})
	c := &http.Client{Timeout: patience, Transport: &http.Transport{DisableKeepAlives: true}}
	waitFor(t, "the server to answer 200 on "+addr+"/", func() (bool, error) {
		res, err := c.Get("http://" + addr + "/")
		if err != nil {
			return false, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode == http.StatusOK, fmt.Errorf("status %d", res.StatusCode)
	})
	return cmd
}

// kill9 kills the server at once (SIGKILL: no clean-up of any kind) and
// waits until it is gone.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	cmd.Wait() // "signal: killed"
}

// reportBody is a multipart report: the text and, if file is not nil, one
// attachment.
func reportBody(text string, file []byte) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("body", text)
	if file != nil {
		w, _ := mw.CreateFormFile("attachments", "evidence.bin")
		w.Write(file)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// postReport sends a report and returns the status and the whole page. An
// error means no complete answer was received.
func postReport(c *http.Client, base, text string, file []byte) (int, string, error) {
	body, ctype := reportBody(text, file)
	res, err := c.Post(base+"/report", ctype, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	page, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", err
	}
	return res.StatusCode, string(page), nil
}

// openCase logs in with a case code, as a reporter would, and returns the
// case page.
func openCase(base, code string) (int, string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: patience}
	res, err := c.PostForm(base+"/followup", url.Values{"code": {code}})
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	page, err := io.ReadAll(res.Body)
	return res.StatusCode, string(page), err
}

// chunkFileName is the second database file that holds the chunks of
// attachments marked apart (issue 14). readDB reads both layouts: a data
// folder without it, and one with it.
const chunkFileName = "candour-chunks.db"

// apartColumns are the names the column of attachments that says "my
// chunks are in the chunk file" (1) or in candour.db (0) may have.
var apartColumns = []string{"chunks_apart", "apart"}

// dbState is what the database holds, read directly (read-only) beside the
// running server: candour.db, and candour-chunks.db if there is one.
type dbState struct {
	integrity                            string
	chunkIntegrity                       string // of candour-chunks.db; "" if there is none
	cases, messages, attachments, chunks int64  // chunks: in both files
	pending                              int64  // attachments linked to no message
	// orphanChunks: chunks whose attachment is missing or keeps its chunks
	// in the other file; incomplete: linked attachments that do not have
	// exactly their recorded number of chunks, numbered from 0, in their
	// file.
	orphanChunks, incomplete, fkErrors int64
}

// readDB reads the state of the database in dataDir (on PostgreSQL, of
// the database dataDir stands for: readPostgres). Chunks are in
// candour.db's attachment_chunks, or, for an attachment whose chunks_apart
// column is 1, in candour-chunks.db; a database from before that column has only
// the first kind. The chunk file is attached read-only, so the server must
// have opened it since any crash (a hot journal is rolled back by a
// writer, not by this reader).
func readDB(t *testing.T, dataDir string) dbState {
	t.Helper()
	if dsn := folderDSN(t, dataDir); dsn != "" {
		return readPostgres(t, dsn)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dataDir, "candour.db")+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// One connection: an attached database belongs to the connection.
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("open %s: %v", dataDir, err)
	}
	defer conn.Close()
	lines := func(q string) []string {
		t.Helper()
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var ls []string
		for rows.Next() {
			var l any
			rows.Scan(&l)
			ls = append(ls, fmt.Sprint(l))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return ls
	}
	var s dbState
	s.integrity = strings.Join(lines(`PRAGMA main.integrity_check`), "; ")
	s.fkErrors = int64(len(lines(`PRAGMA main.foreign_key_check`)))
	// The file an attachment's chunks are in: 0 for candour.db, 1 for the
	// chunk file.
	apart := "0"
	for _, col := range lines(`SELECT name FROM pragma_table_info('attachments')`) {
		if slices.Contains(apartColumns, col) {
			apart = "a." + col
		}
	}
	chunks := `SELECT attachment_id, seq, 0 AS apart FROM main.attachment_chunks`
	chunkPath := filepath.Join(dataDir, chunkFileName)
	switch _, err := os.Stat(chunkPath); {
	case err == nil:
		if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS apart`, "file:"+chunkPath+"?mode=ro"); err != nil {
			t.Fatalf("attach %s: %v", chunkPath, err)
		}
		s.chunkIntegrity = strings.Join(lines(`PRAGMA apart.integrity_check`), "; ")
		chunks += ` UNION ALL SELECT attachment_id, seq, 1 FROM apart.chunks`
	case !errors.Is(err, fs.ErrNotExist):
		t.Fatal(err)
	}
	// One read transaction, so that both files are read at one moment.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM cases), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM attachments), (SELECT count(*) FROM (`+chunks+`)),
		(SELECT count(*) FROM attachments WHERE message_id IS NULL),
		(SELECT count(*) FROM (`+chunks+`) c WHERE NOT EXISTS
		  (SELECT 1 FROM attachments a WHERE a.id = c.attachment_id AND `+apart+` = c.apart)),
		(SELECT count(*) FROM attachments a WHERE a.message_id IS NOT NULL
		  AND (a.chunks != (SELECT count(*) FROM (`+chunks+`) c WHERE c.attachment_id = a.id)
		    OR a.chunks != (SELECT count(*) FROM (`+chunks+`) c WHERE c.attachment_id = a.id
		      AND c.apart = `+apart+` AND c.seq BETWEEN 0 AND a.chunks - 1)))`).
		Scan(&s.cases, &s.messages, &s.attachments, &s.chunks, &s.pending, &s.orphanChunks, &s.incomplete)
	if err != nil {
		t.Fatalf("counting rows: %v", err)
	}
	return s
}

// checkSound fails unless the database is intact and holds no partial
// upload.
func checkSound(t *testing.T, s dbState) {
	t.Helper()
	if s.integrity != "ok" {
		t.Errorf("PRAGMA integrity_check: %s", s.integrity)
	}
	if s.chunkIntegrity != "" && s.chunkIntegrity != "ok" {
		t.Errorf("PRAGMA integrity_check of %s: %s", chunkFileName, s.chunkIntegrity)
	}
	if s.fkErrors != 0 {
		t.Errorf("PRAGMA foreign_key_check: %d violations", s.fkErrors)
	}
	if s.pending != 0 {
		t.Errorf("%d pending attachments (linked to no message) are left", s.pending)
	}
	if s.orphanChunks != 0 {
		t.Errorf("%d attachment chunks belong to no attachment (or are in the wrong file)", s.orphanChunks)
	}
	if s.incomplete != 0 {
		t.Errorf("%d attachments of messages do not have the number of chunks recorded (numbered from 0, in their file)", s.incomplete)
	}
}

// pausingReader is a request body that stops once it has given n bytes:
// it closes reached and waits for release (or fails with errReleased once
// released early) before giving the rest. An upload through it is known
// to be in flight, part sent, while reached is closed and release is not.
type pausingReader struct {
	r       io.Reader
	n       int
	reached chan struct{}
	release chan struct{}
}

func (p *pausingReader) Read(b []byte) (int, error) {
	if p.n == 0 {
		select {
		case <-p.reached:
		default:
			close(p.reached)
		}
		<-p.release
		return p.r.Read(b)
	}
	k, err := p.r.Read(b[:min(len(b), p.n)])
	p.n -= k
	return k, err
}

// TestCrashLosesNothingAcknowledged kills the server with SIGKILL while
// clients submit reports (some with files), restarting it on the same data
// each time. The kills are driven by progress, never by the clock, so a
// busy machine only makes the test slower: in even rounds the server is
// killed once a random number (1 to 8) of receipts has come back in that
// round; in odd rounds, once a large upload has sent a random number of
// its bytes and stopped there, so that the kill lands mid-upload for sure
// (the other clients' requests are cut wherever they are). Every report
// whose receipt was received whole must then open with its code and show
// its text, the export must decrypt to it, and the database must be
// intact, with no half-uploaded files left.
//
// The receipt counts, upload sizes and kill points come from a seed that
// is logged; set CANDOUR_FAULT_SEED to replay them (the interleaving of
// clients still varies).
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the server repeatedly under load: skipped in -short mode")
	}
	t.Parallel()
	const rounds, clients = 12, 8
	rng := faultSeed(t)

	dir := t.TempDir()
	keyFile, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	base := "http://" + addr

	type receipt struct{ code, text string }
	var (
		mu         sync.Mutex
		receipts   []receipt
		unexpected []string
		sent       atomic.Int64
		cut        atomic.Int64 // no complete answer: the server died
	)
	for round := range rounds {
		// Each client's choices come from the seed too.
		clientSeeds := make([]uint64, clients)
		for i := range clientSeeds {
			clientSeeds[i] = rng.Uint64()
		}
		wantReceipts := 1 + rng.IntN(8)
		midUpload := round%2 == 1
		bigFile := make([]byte, 2<<20+rng.IntN(6<<20))
		rand.Read(bigFile)
		bigBody, bigType := reportBody(fmt.Sprintf("crash round %d: the upload that is killed mid-way", round), bigFile)
		// At least 64 KiB, so that the server has the request's head and
		// part of the file whatever the client buffers; never the whole.
		pauseAt := 64<<10 + rng.IntN(len(bigBody)-128<<10)

		cmd := startServer(t, data, recipients, addr)
		tr := &http.Transport{MaxIdleConnsPerHost: clients}
		hc := &http.Client{Transport: tr, Timeout: patience}
		stop := make(chan struct{})
		enough := make(chan struct{}) // closed at the round's receipt count
		var roundReceipts atomic.Int64
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(clientSeeds[i], uint64(i)))
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					text := fmt.Sprintf("crash round %d client %d report %d tag %016x", round, i, n, r.Uint64())
					var file []byte
					if r.IntN(2) == 0 {
						file = make([]byte, 1+r.IntN(300<<10))
						rand.Read(file)
					}
					sent.Add(1)
					status, page, err := postReport(hc, base, text, file)
					if err != nil {
						cut.Add(1) // refused, reset or cut off by the kill: not acknowledged
						continue
					}
					m := caseCodeRE.FindStringSubmatch(page)
					mu.Lock()
					switch {
					case status == http.StatusOK && m != nil:
						receipts = append(receipts, receipt{code: m[1], text: text})
						if roundReceipts.Add(1) == int64(wantReceipts) {
							close(enough)
						}
					default:
						// A complete answer comes from a live server, so
						// anything but a receipt is a failure.
						unexpected = append(unexpected, fmt.Sprintf("round %d: %d %.300s", round, status, page))
					}
					mu.Unlock()
				}
			}()
		}

		var trigger <-chan struct{}
		var what string
		var big *pausingReader
		bigDone := make(chan error, 1)
		if midUpload {
			big = &pausingReader{r: bytes.NewReader(bigBody), n: pauseAt, reached: make(chan struct{}), release: make(chan struct{})}
			trigger = big.reached
			what = fmt.Sprintf("a %d-byte upload to send %d bytes", len(bigBody), pauseAt)
			go func() {
				req, _ := http.NewRequest("POST", base+"/report", big)
				req.Header.Set("Content-Type", bigType)
				req.ContentLength = int64(len(bigBody))
				res, err := hc.Do(req)
				if err == nil {
					page, _ := io.ReadAll(res.Body)
					res.Body.Close()
					err = fmt.Errorf("the upload paused mid-way got an answer: %d %.300s", res.StatusCode, page)
				}
				bigDone <- err
			}()
		} else {
			trigger = enough
			what = fmt.Sprintf("%d receipts", wantReceipts)
			bigDone <- errors.New("no upload to kill in this round")
		}
		var early <-chan error // the large upload, if it ends before its pause
		if midUpload {
			early = bigDone
		}
		select {
		case <-trigger:
		case err := <-early:
			close(stop)
			kill9(t, cmd)
			t.Fatalf("round %d: the large upload ended before it had sent %d bytes: %v", round, pauseAt, err)
		case <-time.After(patience):
			close(stop)
			kill9(t, cmd)
			mu.Lock()
			u := slices.Clone(unexpected)
			mu.Unlock()
			t.Fatalf("round %d: waited %v for %s and it did not happen (%d receipts in this round; unexpected answers: %q)",
				round, patience, what, roundReceipts.Load(), u)
		}
		kill9(t, cmd)
		close(stop)
		awaitKilled(t, data)
		if big != nil {
			close(big.release)
		}
		wg.Wait()
		if err := <-bigDone; midUpload && strings.Contains(err.Error(), "got an answer") {
			// The body was not all sent: no live server could have answered it.
			t.Errorf("round %d: %v", round, err)
		}
		tr.CloseIdleConnections()
		if midUpload {
			t.Logf("round %d: killed with a %d-byte upload paused at byte %d; %d receipts in this round, %d in all",
				round, len(bigBody), pauseAt, roundReceipts.Load(), len(receipts))
		} else {
			t.Logf("round %d: killed after %d receipts in this round (wanted %d), %d in all",
				round, roundReceipts.Load(), wantReceipts, len(receipts))
		}
	}
	t.Logf("%d reports sent, %d acknowledged, %d cut off by a kill", sent.Load(), len(receipts), cut.Load())
	for _, u := range unexpected {
		t.Errorf("a live server answered a report with something other than a receipt: %s", u)
	}
	if len(receipts) == 0 {
		t.Fatal("no report was acknowledged in any round: the test proved nothing")
	}

	// Start once more: every acknowledged report must be there, whole.
	startServer(t, data, recipients, addr)
	openAll(t, base, receipts, func(r receipt) (string, string) { return r.code, r.text })

	// storage.Open removed every upload the kills cut short.
	st := readDB(t, data)
	checkSound(t, st)
	if st.cases < int64(len(receipts)) {
		t.Errorf("%d cases stored, %d acknowledged", st.cases, len(receipts))
	}

	// The export decrypts, offline, to the texts that were sent.
	texts := make([]string, len(receipts))
	for i, r := range receipts {
		texts[i] = r.text
	}
	checkTexts(t, exportDecrypted(t, dir, data, keyFile), texts)
}

// mountSmallFS mounts a tmpfs of the given size in a new folder, and
// unmounts it when the test ends. It skips the test where mounting is not
// allowed.
func mountSmallFS(t *testing.T, size string) string {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "small-fs")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a %s tmpfs to fill up (%v): this test needs root (or CAP_SYS_ADMIN), "+
			"so run it as root, e.g. in the CI container: go test -run DiskFull ./cmd/candour", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	return mnt
}

// fill writes a file of zeros at path until only about leave bytes of the
// file system remain free.
func fill(t *testing.T, path string, leave int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		t.Fatal(err)
	}
	n := int64(st.Bavail)*st.Bsize - leave
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 1<<20)
	for n > 0 {
		k, err := f.Write(block[:min(n, int64(len(block)))])
		n -= int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// postRaw sends a report over a plain connection, writing the body in the
// background, and reads whatever answer comes. The server may refuse and
// close before the whole body is sent; then the answer is read if the
// connection still delivers it.
func postRaw(addr string, body []byte, ctype string) (*http.Response, string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(patience))
	head := fmt.Sprintf("POST /report HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", addr, ctype, len(body))
	go func() {
		conn.Write([]byte(head))
		conn.Write(body) // fails once the server closes: expected
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, "", err
	}
	page, err := io.ReadAll(res.Body)
	return res, string(page), err
}

// TestDiskFullRefusesCleanlyAndRecovers runs the server on a small file
// system and fills it. A report that does not fit must be refused with a
// clear page that says nothing was saved, must leave no trace in the
// database, must not harm earlier cases, and once space is freed the same
// server process must accept reports again.
func TestDiskFullRefusesCleanlyAndRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a file system: skipped in -short mode")
	}
	skipOnPostgres(t, "fills the file system of candour.db; PostgreSQL's database is not on it")
	t.Parallel()
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	mnt := mountSmallFS(t, "24m") // before the server: unmounted after it stops
	data := filepath.Join(mnt, "data")
	addr := freeAddr(t)
	base := "http://" + addr
	cmd := startServer(t, data, recipients, addr)

	texts := []string{"first report before the disk fills", "second report before the disk fills", "third report before the disk fills"}
	var codes []string
	for _, text := range texts {
		codes = append(codes, submitReport(t, base, text))
	}

	// Leave the database a little room, less than the next upload needs.
	filler := filepath.Join(mnt, "filler")
	fill(t, filler, 3<<20)
	before := readDB(t, data)

	refused := func(what string, status int, page string) {
		t.Helper()
		if status != http.StatusInsufficientStorage || !strings.Contains(page, "Nothing was saved.") ||
			!strings.Contains(page, "out of storage space") {
			t.Errorf("%s on a full disk: want a 507 page saying the service is out of space and nothing was saved, got %d %.2000s",
				what, status, page)
		}
		if caseCodeRE.MatchString(page) {
			t.Errorf("%s on a full disk was given a case code", what)
		}
	}
	unchanged := func(when string) {
		t.Helper()
		after := readDB(t, data)
		checkSound(t, after)
		if after.cases != before.cases || after.messages != before.messages ||
			after.attachments != before.attachments || after.chunks != before.chunks {
			t.Errorf("%s: the database changed: before %+v, after %+v", when, before, after)
		}
	}

	// A file larger than the free space, small enough that the server reads
	// the whole request (it drains up to 16 MiB of a refused body), so the
	// answer always arrives.
	big := make([]byte, 12<<20)
	rand.Read(big)
	status, page, err := postReport(http.DefaultClient, base, "a report with a file that does not fit", big)
	if err != nil {
		t.Fatalf("report with a 12 MiB file on a full disk: no answer: %v", err)
	}
	refused("a report with a 12 MiB file", status, page)
	unchanged("after a 12 MiB upload was refused")

	// Far larger than the free space: the server refuses and closes before
	// the body ends, so the answer may be lost to a reset; the state is what
	// counts.
	body, ctype := reportBody("a report with a 40 MiB file", make([]byte, 40<<20))
	if res, page, err := postRaw(addr, body, ctype); err == nil {
		refused("a report with a 40 MiB file", res.StatusCode, page)
	} else {
		t.Logf("40 MiB upload: the answer was lost to the closed connection (%v)", err)
	}
	unchanged("after a 40 MiB upload was refused")

	// Earlier cases are untouched and still open.
	for i, code := range codes {
		status, page, err := openCase(base, code)
		if err != nil || status != http.StatusOK || !strings.Contains(page, texts[i]) {
			t.Errorf("case %d does not open on a full disk: %d %v", i, status, err)
		}
	}

	// Free the space: the same process accepts reports again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	code := submitReport(t, base, "a report after space was freed")
	if status, page, err := openCase(base, code); err != nil || status != http.StatusOK ||
		!strings.Contains(page, "a report after space was freed") {
		t.Errorf("the report sent after space was freed does not open: %d %v", status, err)
	}
	for i, code := range codes {
		if status, page, err := openCase(base, code); err != nil || status != http.StatusOK || !strings.Contains(page, texts[i]) {
			t.Errorf("case %d does not open after space was freed: %d %v", i, status, err)
		}
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the server did not survive the full disk: %v", err)
	}
	after := readDB(t, data)
	checkSound(t, after)
	if after.cases != before.cases+1 {
		t.Errorf("%d cases, want %d", after.cases, before.cases+1)
	}
}
