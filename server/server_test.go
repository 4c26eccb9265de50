package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// testServer is a real Candour server on 127.0.0.1 over a real SQLite
// database in a temporary folder, or, with CANDOUR_TEST_ENGINE=postgres, a
// real PostgreSQL database of the test cluster (engine_test.go).
type testServer struct {
	Srv *server.Server
	// Clock is the server's time in unix nanoseconds; tests move it.
	Clock   *atomic.Int64
	URL     string
	DB      *storage.DB
	DataDir string
	// DSN is the PostgreSQL database's URL; empty on SQLite, whose
	// database is in DataDir.
	DSN    string
	OrgKey *age.HybridIdentity
	Log    *syncBuffer
	// seen holds the ids of cases newestMessage has returned.
	seen map[int64]bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fastKDF keeps tests quick (the race detector slows Argon2id tenfold);
// the default parameters are exercised by the benchmarks and crypto tests.
var fastKDF = crypto.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func startServer(t *testing.T, adjust func(*server.Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	db, dsn := openTestDB(t, dir)
	clock := &atomic.Int64{}
	clock.Store(time.Now().UnixNano())
	org, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, &testServer{Clock: clock, DB: db, DataDir: dir, DSN: dsn, OrgKey: org}, adjust)
}

// serveOn starts a server on ts.DB, with ts's clock and organisation key,
// on a free port of 127.0.0.1, and fills in the rest of ts. The server
// and the database are closed when the test ends.
func serveOn(t *testing.T, ts *testServer, adjust func(*server.Config)) *testServer {
	t.Helper()
	clock := ts.Clock
	ts.DB.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	rs, err := crypto.ParseRecipientsString(ts.OrgKey.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := server.Config{
		OrgName:    "Test Watchdog",
		Recipients: rs,
		KDF:        fastKDF,
		LoginFloor: 50 * time.Millisecond,
		// Tests submit quickly; the budget has a test of its own.
		SubmissionsPerMinute: 100000,
		CleanerPath:          server.CleanerPath(),
		Logger:               slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	srv, err := server.New(cfg, ts.DB)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ts.DB.Close()
	})
	ts.Srv, ts.URL, ts.Log, ts.seen = srv, "http://"+ln.Addr().String(), logs, map[int64]bool{}
	return ts
}

// client returns an HTTP client with its own cookie jar that does not follow
// redirects, so tests see every step.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       5 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type file struct {
	name, ctype string
	r           io.Reader
}

// multipartBody streams a form: fields first, in order, then files. It is
// produced as it is read, so a test can send gigabytes without holding them.
func multipartBody(fields [][2]string, files []file) (io.Reader, string) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range fields {
				if err := mw.WriteField(f[0], f[1]); err != nil {
					return err
				}
			}
			for _, f := range files {
				h := make(map[string][]string)
				h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="attachments"; filename=%q`, f.name)}
				h["Content-Type"] = []string{f.ctype}
				w, err := mw.CreatePart(h)
				if err != nil {
					return err
				}
				if _, err := io.Copy(w, f.r); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	return pr, mw.FormDataContentType()
}

func post(t *testing.T, c *http.Client, u string, body io.Reader, ctype string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, body)
	must(t, err)
	req.Header.Set("Content-Type", ctype)
	return do(t, c, req)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	must(t, err)
	return do(t, c, req)
}

// do sends req and returns the response with its whole body read.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := c.Do(req)
	must(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(t, err)
	return res, string(b)
}

var caseCodeRE = regexp.MustCompile(`id="case-code">([^<]+)<`)

// submit sends a report and returns the case code from the receipt.
func submit(t *testing.T, ts *testServer, text string, files ...file) string {
	t.Helper()
	body, ctype := multipartBody([][2]string{{"body", text}}, files)
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("submit: status %d: %s", res.StatusCode, page)
	}
	m := caseCodeRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("receipt has no case code: %s", page)
	}
	return strings.TrimSpace(m[1])
}

// login opens a follow-up session and returns its client.
func login(t *testing.T, ts *testServer, code string) *http.Client {
	t.Helper()
	c := client(t)
	res, body := post(t, c, ts.URL+"/followup", strings.NewReader(url.Values{"code": {code}}.Encode()),
		"application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/case" {
		t.Fatalf("login: status %d: %s", res.StatusCode, body)
	}
	return c
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("case page has no csrf token")
	}
	return m[1]
}

func counts(t *testing.T, db *storage.DB) [4]int64 {
	t.Helper()
	a, b, c, d, err := db.CountRows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return [4]int64{a, b, c, d}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func decryptAll(t *testing.T, r io.Reader, id age.Identity) []byte {
	t.Helper()
	pr, err := age.Decrypt(r, id)
	must(t, err)
	b, err := io.ReadAll(pr)
	must(t, err)
	return b
}

// open decrypts a message with the organisation's key and returns its text.
func (ts *testServer) open(ciphertext []byte) (string, error) {
	m, err := crypto.OpenMessage(ciphertext, ts.OrgKey)
	return m.Text, err
}
