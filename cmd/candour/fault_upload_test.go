package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// More fault tests: kills during large uploads and during checkpoints of
// candour.db, the two moments when the most bytes are in flight between
// memory, the WAL, the database and (since issue 14) the chunk file.

// faultSeed is the seed of a fault test's random choices, logged so that
// CANDOUR_FAULT_SEED replays them.
func faultSeed(t *testing.T) *mrand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CANDOUR_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CANDOUR_FAULT_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with CANDOUR_FAULT_SEED=%d)", seed, seed)
	return mrand.New(mrand.NewPCG(seed, 0))
}

// randomFile is an attachment's bytes, streamed: random bytes from the
// kernel, hashed as they are given, so that a 56 MiB upload is never held
// in memory. sent counts the bytes given so far, for a watcher.
type randomFile struct {
	mu   sync.Mutex // the transport reads in its own goroutine
	left int64
	hash hash.Hash
	sent atomic.Int64
}

func (r *randomFile) Read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.left == 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), r.left)]
	rand.Read(b)
	r.hash.Write(b)
	r.left -= int64(len(b))
	r.sent.Add(int64(len(b)))
	return len(b), nil
}

// sum is the SHA-256 of the bytes given so far.
func (r *randomFile) sum() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hash.Sum(nil)
}

// streamedReport is a report with one large attachment of random bytes,
// as a request body that is produced while it is sent.
type streamedReport struct {
	text, name string
	size       int64
	file       *randomFile
	body       io.Reader
	length     int64
	ctype      string
}

func newStreamedReport(text, name string, size int64) *streamedReport {
	var head, tail bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.WriteField("body", text)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachments"; filename=%q`, name))
	h.Set("Content-Type", "application/octet-stream")
	mw.CreatePart(h)
	// The closing boundary, written by a writer with the same boundary.
	end := multipart.NewWriter(&tail)
	end.SetBoundary(mw.Boundary())
	end.Close()
	f := &randomFile{left: size, hash: sha256.New()}
	return &streamedReport{
		text: text, name: name, size: size, file: f,
		body:   io.MultiReader(bytes.NewReader(head.Bytes()), f, bytes.NewReader(tail.Bytes())),
		length: int64(head.Len()) + size + int64(tail.Len()),
		ctype:  mw.FormDataContentType(),
	}
}

// post sends the report; it returns the case code from a receipt, or why
// there is none (errNoAnswer if no complete answer came).
func (s *streamedReport) post(c *http.Client, base string) (string, error) {
	req, err := http.NewRequest("POST", base+"/report", s.body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", s.ctype)
	req.ContentLength = s.length
	res, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	defer res.Body.Close()
	page, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	m := caseCodeRE.FindStringSubmatch(string(page))
	if res.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("%d %s", res.StatusCode, pageGist(string(page)))
	}
	return m[1], nil
}

// errNoAnswer: the server died before it answered whole. Nothing was
// acknowledged.
var errNoAnswer = errors.New("no complete answer")

// chunkProbe counts the chunks with a sequence number of at least seq
// that belong to pending attachments (uploads in progress), in candour.db
// and in candour-chunks.db if there is one (on PostgreSQL, in the
// folder's database), as a reader beside the server
// sees them: committed chunks of an upload not yet acknowledged. Only a
// file over seq MiB has a chunk numbered seq.
type chunkProbe struct {
	db    *sql.DB
	conn  *sql.Conn
	query string
}

func newChunkProbe(t *testing.T, dataDir string) *chunkProbe {
	t.Helper()
	if dsn := folderDSN(t, dataDir); dsn != "" {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p := &chunkProbe{db: db, conn: conn, query: `SELECT count(*) FROM attachment_chunks WHERE seq >= $1
		  AND attachment_id IN (SELECT id FROM attachments WHERE message_id IS NULL)`}
		t.Cleanup(p.close)
		return p
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dataDir, "candour.db")+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := &chunkProbe{db: db, conn: conn,
		query: `SELECT count(*) FROM main.attachment_chunks WHERE seq >= ?1
		  AND attachment_id IN (SELECT id FROM main.attachments WHERE message_id IS NULL)`}
	chunkPath := filepath.Join(dataDir, chunkFileName)
	switch _, err := os.Stat(chunkPath); {
	case err == nil:
		if _, err := conn.ExecContext(context.Background(), `ATTACH DATABASE ? AS apart`, "file:"+chunkPath+"?mode=ro"); err != nil {
			t.Fatalf("attach %s: %v", chunkPath, err)
		}
		p.query = `SELECT (` + p.query + `) + (SELECT count(*) FROM apart.chunks WHERE seq >= ?1
		  AND attachment_id IN (SELECT id FROM main.attachments WHERE message_id IS NULL))`
	case !errors.Is(err, fs.ErrNotExist):
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

func (p *chunkProbe) count(seq int) (int64, error) {
	var n int64
	err := p.conn.QueryRowContext(context.Background(), p.query, seq).Scan(&n)
	return n, err
}

// close closes the probe; again is harmless.
func (p *chunkProbe) close() {
	p.conn.Close()
	p.db.Close()
}

// TestCrashDuringLargeUploads kills the server while reports with large
// files (24 to 56 MiB of random bytes, streamed, so each is stored as
// dozens of 1 MiB chunk commits) are uploaded beside small reports. In
// each round the kill comes once a large upload the round chose has sent
// a chosen number of its bytes and the server has committed a chosen
// number of chunks of a pending (unacknowledged) upload: progress, never
// the clock. In odd rounds each large client first completes one upload,
// so that acknowledged large files pile up across the rounds.
//
// After every restart the database must be whole, with no pending
// attachment and no chunk of one (the server sweeps them when it
// starts). At the end every acknowledged report opens with its code, and
// the export decrypts with the organisation's key to every large file,
// byte for byte (SHA-256 of what was sent).
func TestCrashDuringLargeUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the server during large uploads: skipped in -short mode")
	}
	t.Parallel()
	const rounds, bigClients, smallClients = 4, 2, 3
	rng := faultSeed(t)

	dir := t.TempDir()
	keyFile, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	base := "http://" + addr

	type receipt struct {
		code, text string
		name       string // the large file's name, if there is one
		sum        []byte
		size       int64
	}
	var (
		mu         sync.Mutex
		receipts   []receipt
		unexpected []string
		bigAcked   int
		bigCut     int
	)
	for round := range rounds {
		cmd := startServer(t, data, recipients, addr)
		if round > 0 {
			// What the last kill cut short is gone, and the rest is whole.
			checkSound(t, readDB(t, data))
		}
		probe := newChunkProbe(t, data)
		// The kill: once one of the large uploads from number skip on has
		// sent past its mark, and pending uploads have a chunk numbered
		// minChunk or more committed.
		skip := round % 2
		minChunk := 2 + rng.IntN(6)
		type flight struct {
			r    *streamedReport
			mark int64
		}
		var inFlight [bigClients]atomic.Pointer[flight]
		seeds := make([]uint64, bigClients+smallClients)
		for i := range seeds {
			seeds[i] = rng.Uint64()
		}

		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: bigClients + smallClients}, Timeout: patience}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range bigClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(seeds[i], uint64(i)))
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					size := int64(24<<20 + r.IntN(32<<20))
					text := fmt.Sprintf("large upload round %d client %d upload %d tag %016x", round, i, n, r.Uint64())
					up := newStreamedReport(text, fmt.Sprintf("large-%d-%d-%d.bin", round, i, n), size)
					if n >= skip {
						// The mark: at least minChunk+4 MiB in (the
						// server may hold a few MiB not yet committed),
						// at least 1 MiB before the end.
						lo := int64(minChunk+4) << 20
						inFlight[i].Store(&flight{r: up, mark: lo + r.Int64N(size-lo-1<<20)})
					}
					code, err := up.post(hc, base)
					inFlight[i].Store(nil)
					mu.Lock()
					switch {
					case err == nil:
						receipts = append(receipts, receipt{code: code, text: text, name: up.name, sum: up.file.sum(), size: size})
						bigAcked++
					case errors.Is(err, errNoAnswer):
						// The kill: this client is done for the round.
						if up.file.sent.Load() > 0 {
							bigCut++
						}
						mu.Unlock()
						return
					default:
						unexpected = append(unexpected, fmt.Sprintf("round %d, a %d-byte upload: %v", round, size, err))
					}
					mu.Unlock()
				}
			}()
		}
		for i := range smallClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(seeds[bigClients+i], uint64(i)))
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					text := fmt.Sprintf("small report round %d client %d report %d tag %016x", round, i, n, r.Uint64())
					var file []byte
					if r.IntN(2) == 0 {
						file = make([]byte, 1+r.IntN(256<<10))
						rand.Read(file)
					}
					status, page, err := postReport(hc, base, text, file)
					if err != nil {
						return // cut off by the kill: not acknowledged
					}
					m := caseCodeRE.FindStringSubmatch(page)
					mu.Lock()
					if status == http.StatusOK && m != nil {
						receipts = append(receipts, receipt{code: m[1], text: text})
					} else {
						unexpected = append(unexpected, fmt.Sprintf("round %d: %d %s", round, status, pageGist(page)))
					}
					mu.Unlock()
				}
			}()
		}

		// Poll until the kill is due; the bound only catches what never
		// happens.
		var killed string
		var lastErr error
		for deadline := time.Now().Add(patience); killed == ""; time.Sleep(5 * time.Millisecond) {
			for i := range inFlight {
				f := inFlight[i].Load()
				if f == nil || f.r.file.sent.Load() < f.mark {
					continue
				}
				n, err := probe.count(minChunk)
				if err != nil {
					lastErr = err
					break
				}
				if n > 0 {
					killed = fmt.Sprintf("client %d's %d-byte upload had sent %d bytes (mark %d); %d chunks numbered %d or more of pending uploads were committed",
						i, f.r.size, f.r.file.sent.Load(), f.mark, n, minChunk)
					break
				}
			}
			mu.Lock()
			stuck := len(unexpected) > 0 || time.Now().After(deadline)
			mu.Unlock()
			if killed == "" && stuck {
				kill9(t, cmd)
				close(stop)
				wg.Wait()
				t.Fatalf("round %d: waited for a large upload to pass its mark with chunk %d of a pending upload committed (last error: %v); unexpected answers: %q",
					round, minChunk, lastErr, unexpected)
			}
		}
		kill9(t, cmd)
		close(stop)
		wg.Wait()
		probe.close()
		hc.CloseIdleConnections()
		awaitKilled(t, data)
		t.Logf("round %d: killed when %s", round, killed)
		// What the kill left on disk, before the server repairs anything:
		// every file whole once SQLite has recovered it, and every
		// attachment of a message complete. Pending uploads are allowed
		// here; the restart must sweep them.
		journal := "no chunk file WAL"
		if st, err := os.Stat(filepath.Join(data, chunkFileName+"-wal")); err == nil {
			journal = fmt.Sprintf("a %d-byte chunk file WAL", st.Size())
		}
		// On PostgreSQL, the database as the kill left it: nothing to
		// recover, as only candour died.
		atKillDir := data
		if !onPostgres() {
			atKillDir = recoveredCopy(t, data, filepath.Join(dir, "at-kill"))
		}
		atKill := readDB(t, atKillDir)
		checkSound(t, dbState{integrity: atKill.integrity, chunkIntegrity: atKill.chunkIntegrity,
			fkErrors: atKill.fkErrors, incomplete: atKill.incomplete})
		t.Logf("round %d: on disk at the kill: %s, %d pending attachments, %d chunks in all", round, journal, atKill.pending, atKill.chunks)
	}
	t.Logf("%d reports acknowledged, %d of them with a large file; %d large uploads cut off by a kill", len(receipts), bigAcked, bigCut)
	for _, u := range unexpected {
		t.Errorf("a live server answered a report with something other than a receipt: %s", u)
	}
	if bigAcked == 0 {
		t.Fatal("no large upload was acknowledged in any round: the test proved nothing about them")
	}

	startServer(t, data, recipients, addr)
	final := readDB(t, data)
	checkSound(t, final)
	var texts []string
	files := map[string]receipt{}
	var chunks int64 // at least, for the large files
	for _, r := range receipts {
		texts = append(texts, r.text)
		if r.name != "" {
			files[r.name] = r
			chunks += r.size >> 20
		}
	}
	if final.chunks < chunks {
		t.Errorf("%d chunks stored in all; the acknowledged large files alone need %d or more", final.chunks, chunks)
	}
	openAll(t, base, receipts, func(r receipt) (string, string) { return r.code, r.text })
	plain := exportDecrypted(t, dir, data, keyFile)
	checkTexts(t, plain, texts)
	found := map[string]bool{}
	paths, _ := filepath.Glob(filepath.Join(plain, "*", "attachments", "*"))
	for _, p := range paths {
		want, ok := files[filepath.Base(p)]
		if !ok {
			continue
		}
		found[want.name] = true
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n != want.size || !bytes.Equal(h.Sum(nil), want.sum) {
			t.Errorf("acknowledged large file %s decrypts to %d bytes with SHA-256 %x; %d bytes with SHA-256 %x were sent",
				want.name, n, h.Sum(nil), want.size, want.sum)
		}
	}
	for name := range files {
		if !found[name] {
			t.Errorf("the decrypted export lacks acknowledged large file %s", name)
		}
	}
}

// recoveredCopy copies the database files of a data folder that a kill
// left behind into dst (emptied first) and opens each copy for writing,
// as the server would: SQLite then replays the WALs of candour.db and
// candour-chunks.db, in the copy. The original is
// left as the kill left it, for the restart. It returns dst.
func recoveredCopy(t *testing.T, data, dst string) string {
	t.Helper()
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	// Not the -shm file: it is rebuilt from the WAL.
	for _, name := range []string{"candour.db", "candour.db-wal", chunkFileName, chunkFileName + "-wal", chunkFileName + "-journal"} {
		src, err := os.Open(filepath.Join(data, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		dstFile, err := os.OpenFile(filepath.Join(dst, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_, err = io.Copy(dstFile, src)
			if cerr := dstFile.Close(); err == nil {
				err = cerr
			}
		}
		src.Close()
		if err != nil {
			t.Fatalf("copy %s: %v", name, err)
		}
	}
	for _, name := range []string{"candour.db", chunkFileName} {
		path := filepath.Join(dst, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&n)
		db.Close()
		if err != nil {
			t.Fatalf("recover the copy of %s: %v", name, err)
		}
	}
	return dst
}

// openCaseFirstPage logs in with a case code and returns the first page
// of the case's thread, which begins with the report (the case page shows
// the last page of a long thread).
func openCaseFirstPage(base, code string) (int, string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: patience}
	res, err := c.PostForm(base+"/followup", url.Values{"code": {code}})
	if err != nil {
		return 0, "", err
	}
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return res.StatusCode, string(page), err
	}
	if res, err = c.Get(base + "/case?page=1"); err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	page, err = io.ReadAll(res.Body)
	return res.StatusCode, string(page), err
}

// openAll logs in with every acknowledged case code, four at a time, and
// fails for each case that does not open or does not show its text.
func openAll[R any](t *testing.T, base string, receipts []R, codeText func(R) (string, string)) {
	t.Helper()
	work := make(chan R)
	var wg sync.WaitGroup
	var lost atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				code, text := codeText(r)
				status, page, err := openCaseFirstPage(base, code)
				if err != nil || status != http.StatusOK || !strings.Contains(page, text) {
					lost.Add(1)
					t.Errorf("acknowledged report %q does not open after the crashes: %d %v %q", text, status, err, pageHeading(page))
				}
			}
		}()
	}
	for _, r := range receipts {
		work <- r
	}
	close(work)
	wg.Wait()
	if lost.Load() > 0 {
		t.Fatalf("%d of %d acknowledged reports were lost", lost.Load(), len(receipts))
	}
}

var (
	headingRE = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
	tagRE     = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE   = regexp.MustCompile(`\s+`)
)

// pageHeading is the heading of a page, to say in a failure which page
// came instead of the one expected.
func pageHeading(page string) string {
	if m := headingRE.FindStringSubmatch(page); m != nil {
		return strings.TrimSpace(m[1])
	}
	return pageGist(page)
}

// pageGist is the start of a page's main text, without markup, to say in
// a failure what the server answered.
func pageGist(page string) string {
	if i := strings.Index(page, "<main"); i >= 0 {
		page = page[i:]
	}
	text := strings.TrimSpace(spaceRE.ReplaceAllString(tagRE.ReplaceAllString(page, " "), " "))
	return fmt.Sprintf("%.400s", text)
}

// exportDecrypted exports the data folder beside the running server,
// checks that the audit trail is intact, and decrypts the export with the
// organisation's key; it returns the decrypted folder.
func exportDecrypted(t *testing.T, dir, data, keyFile string) string {
	t.Helper()
	return exportDecryptedFrom(t, dir, keyFile, "--data", data)
}

// exportDecryptedFrom is exportDecrypted for the database that where
// names, as the tools take it (--data DIR, or --database URL).
func exportDecryptedFrom(t *testing.T, dir, keyFile string, where ...string) string {
	t.Helper()
	exp := filepath.Join(dir, "export")
	candour(t, append([]string{"export", "--out", exp}, where...)...)
	if out := candour(t, append([]string{"audit", "verify"}, where...)...); !strings.Contains(out, "intact") {
		t.Errorf("audit verify after the crashes: %s", out)
	}
	plain := filepath.Join(dir, "plain")
	candour(t, "decrypt", "-i", keyFile, "-o", plain, exp)
	return plain
}

// checkTexts fails for each text that no decrypted message holds.
func checkTexts(t *testing.T, plain string, texts []string) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(plain, "*", "message-*.txt"))
	var all strings.Builder
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for _, text := range texts {
		if !strings.Contains(all.String(), text) {
			t.Errorf("the decrypted export lacks acknowledged text %q", text)
		}
	}
}

// writeWatch counts the writes to one file that inotify reports
// (IN_MODIFY; successive events not yet read are merged into one, so
// there were at least as many writes as events). hit is closed once want
// events have been read.
type writeWatch struct {
	f      *os.File
	events atomic.Int64
	want   int64
	hit    chan struct{}
	done   chan struct{}
}

func watchWrites(t *testing.T, path string, n int64) *writeWatch {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_MODIFY); err != nil {
		syscall.Close(fd)
		t.Fatalf("inotify watch %s: %v", path, err)
	}
	// Non-blocking, so the runtime's poller waits for it and Close ends
	// a pending Read.
	w := &writeWatch{f: os.NewFile(uintptr(fd), "inotify"), want: n, hit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		buf := make([]byte, 64<<10)
		for {
			k, err := w.f.Read(buf)
			if err != nil {
				return
			}
			for b := buf[:k]; len(b) >= syscall.SizeofInotifyEvent; {
				nameLen := binary.NativeEndian.Uint32(b[12:16])
				b = b[min(len(b), syscall.SizeofInotifyEvent+int(nameLen)):]
				if w.events.Add(1) == w.want {
					close(w.hit)
				}
			}
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *writeWatch) close() {
	w.f.Close() // an error once closed already
	<-w.done
}

// caseSession is a reporter logged in to their case: the client keeps the
// session cookie and does not follow redirects, so that "message sent"
// (303 to /case?sent=1) is seen as the server gave it.
type caseSession struct {
	c    *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// loginCase logs in with a case code. An error wrapping errNoAnswer means
// the server died meanwhile.
func loginCase(base, code string) (*caseSession, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: patience}
	res, err := c.PostForm(base+"/followup", url.Values{"code": {code}})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	m := csrfRE.FindSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("login: %d %s", res.StatusCode, pageGist(string(page)))
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &caseSession{c: c, csrf: string(m[1])}, nil
}

// send posts a follow-up message; nil means it was acknowledged.
func (s *caseSession) send(base, text string, file []byte) error {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", s.csrf)
	mw.WriteField("body", text)
	if file != nil {
		w, _ := mw.CreateFormFile("attachments", "more-evidence.bin")
		w.Write(file)
	}
	mw.Close()
	res, err := s.c.Post(base+"/case/message", mw.FormDataContentType(), &buf)
	if err != nil {
		return fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/case?sent=1" {
		return fmt.Errorf("message: %d %s %s", res.StatusCode, res.Header.Get("Location"), pageGist(string(page)))
	}
	return nil
}

// checkpointState is what candour.db-shm, SQLite's WAL index, says of
// the last checkpoint (https://sqlite.org/walformat.html): the WAL's last
// valid frame, the frames copied into the database, and the frames a
// checkpoint set out to copy. A checkpoint records that aim before it
// writes the first page and its progress only after the last one is
// synced, so attempted > backfilled after a kill means the kill landed
// inside a checkpoint.
type checkpointState struct {
	maxFrame, backfilled, attempted uint32
}

func (c checkpointState) midway() bool { return c.attempted > c.backfilled }

func (c checkpointState) String() string {
	if c.midway() {
		return fmt.Sprintf("inside a checkpoint: %d of %d WAL frames copied back, %d to copy", c.backfilled, c.maxFrame, c.attempted)
	}
	return fmt.Sprintf("between checkpoints: %d of %d WAL frames copied back", c.backfilled, c.maxFrame)
}

// readCheckpointState reads the WAL index that a killed server left. Its
// fields are in the machine's byte order.
func readCheckpointState(t *testing.T, data string) checkpointState {
	t.Helper()
	f, err := os.Open(filepath.Join(data, "candour.db-shm"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 136)
	if _, err := io.ReadFull(f, b); err != nil {
		t.Fatalf("read the WAL index: %v", err)
	}
	return checkpointState{
		maxFrame:   binary.NativeEndian.Uint32(b[16:]),  // WalIndexHdr.mxFrame
		backfilled: binary.NativeEndian.Uint32(b[96:]),  // WalCkptInfo.nBackfill
		attempted:  binary.NativeEndian.Uint32(b[128:]), // WalCkptInfo.nBackfillAttempted
	}
}

// TestCrashDuringCheckpoints kills the server while candour.db itself is
// being written. In WAL mode the database file changes only when a
// checkpoint copies pages back from the WAL (automatic ones, inside
// commits, or a background one), so the test watches candour.db with
// inotify and kills the server once a chosen number (1 to 12) of writes
// to it has been seen in the round, while clients send small reports
// (some with files) and follow-up messages. Progress, never the clock,
// decides the kill. The WAL index the kill leaves tells whether a
// checkpoint was under way; at least one kill must have landed inside
// one.
//
// After every kill a copy of the files, recovered by SQLite, must be
// whole, and after every restart the database must be whole with nothing
// pending; at the end every acknowledged report opens with its code, the export
// decrypts to every acknowledged report and message, and the audit trail
// verifies.
func TestCrashDuringCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the server during checkpoints: skipped in -short mode")
	}
	skipOnPostgres(t, "kills the server inside SQLite's WAL checkpoints of candour.db, which PostgreSQL does not have; "+
		"kill -9 on PostgreSQL: TestFaultTwoInstancesOnPostgres")
	t.Parallel()
	const rounds, clients = 8, 6
	rng := faultSeed(t)

	dir := t.TempDir()
	keyFile, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	base := "http://" + addr

	type receipt struct{ code, text string }
	var (
		mu         sync.Mutex
		reports    []receipt
		messages   []receipt
		unexpected []string
		midway     int // kills inside a checkpoint
	)
	// The cases each client made, and writes to: its own, across rounds.
	owned := make([][]string, clients)
	for round := range rounds {
		cmd := startServer(t, data, recipients, addr)
		if round > 0 {
			checkSound(t, readDB(t, data))
		}
		writes := 1 + rng.IntN(12)
		watch := watchWrites(t, filepath.Join(data, "candour.db"), int64(writes))
		seeds := make([]uint64, clients)
		for i := range seeds {
			seeds[i] = rng.Uint64()
		}
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: patience}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(seeds[i], uint64(i)))
				// fail records an answer that only a fault explains;
				// none at all is the kill's doing.
				fail := func(err error) {
					if !errors.Is(err, errNoAnswer) {
						mu.Lock()
						unexpected = append(unexpected, fmt.Sprintf("round %d client %d: %v", round, i, err))
						mu.Unlock()
					}
				}
				// file is no file, or one of up to most random bytes.
				file := func(most int) []byte {
					if r.IntN(2) == 0 {
						return nil
					}
					b := make([]byte, 1+r.IntN(most))
					rand.Read(b)
					return b
				}
				var sess *caseSession
				var code string
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					if sess == nil || r.IntN(4) == 0 {
						// A case to write to: a new report, or one of
						// this client's acknowledged before. Never
						// another client's: a case keeps only its three
						// newest sessions.
						code = ""
						if k := len(owned[i]); k > 0 && r.IntN(2) == 0 {
							code = owned[i][r.IntN(k)]
						}
						if code == "" {
							text := fmt.Sprintf("checkpoint round %d client %d report %d tag %016x", round, i, n, r.Uint64())
							status, page, err := postReport(hc, base, text, file(128<<10))
							if err != nil {
								return // cut off by the kill
							}
							m := caseCodeRE.FindStringSubmatch(page)
							if status != http.StatusOK || m == nil {
								fail(fmt.Errorf("report: %d %s", status, pageGist(page)))
								return
							}
							code = m[1]
							mu.Lock()
							reports = append(reports, receipt{code: code, text: text})
							mu.Unlock()
							owned[i] = append(owned[i], code)
						}
						var err error
						if sess, err = loginCase(base, code); err != nil {
							fail(err)
							return
						}
						continue
					}
					text := fmt.Sprintf("checkpoint round %d client %d message %d tag %016x", round, i, n, r.Uint64())
					if err := sess.send(base, text, file(64<<10)); err != nil {
						fail(err)
						return
					}
					mu.Lock()
					messages = append(messages, receipt{code: code, text: text})
					mu.Unlock()
				}
			}()
		}
		select {
		case <-watch.hit:
		case <-time.After(patience):
			kill9(t, cmd)
			close(stop)
			wg.Wait()
			t.Fatalf("round %d: waited %v for %d writes to candour.db (saw %d); unexpected answers: %q",
				round, patience, writes, watch.events.Load(), unexpected)
		}
		kill9(t, cmd)
		close(stop)
		wg.Wait()
		watch.close()
		hc.CloseIdleConnections()
		ck := readCheckpointState(t, data)
		if ck.midway() {
			midway++
		}
		// The files as the kill left them, once SQLite has replayed the
		// WAL (in a copy): whole, every attachment of a message complete.
		atKill := readDB(t, recoveredCopy(t, data, filepath.Join(dir, "at-kill")))
		checkSound(t, dbState{integrity: atKill.integrity, chunkIntegrity: atKill.chunkIntegrity,
			fkErrors: atKill.fkErrors, incomplete: atKill.incomplete})
		mu.Lock()
		t.Logf("round %d: killed at write event %d to candour.db (%s); %d reports and %d messages acknowledged in all",
			round, watch.events.Load(), ck, len(reports), len(messages))
		mu.Unlock()
	}
	t.Logf("%d of %d kills landed inside a checkpoint", midway, rounds)
	if midway == 0 {
		t.Errorf("none of the %d kills landed inside a checkpoint (as candour.db-shm tells): the test did not test what it claims", rounds)
	}
	for _, u := range unexpected {
		t.Errorf("a live server gave an unexpected answer: %s", u)
	}
	if len(messages) == 0 {
		t.Fatal("no message was acknowledged in any round: the test proved nothing")
	}

	startServer(t, data, recipients, addr)
	checkSound(t, readDB(t, data))
	openAll(t, base, reports, func(r receipt) (string, string) { return r.code, r.text })
	var texts []string
	for _, r := range append(reports, messages...) {
		texts = append(texts, r.text)
	}
	checkTexts(t, exportDecrypted(t, dir, data, keyFile), texts)
}
