package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// BenchmarkInboxHTTP measures the staff inbox as a caseworker gets it: the
// whole request (HTTP, session check, queries, rendering) from a client on
// 127.0.0.1 to the real server, over 100,000 and 1,000,000 cases, and
// reports the median and 90th percentile of the requests' times
// (docs/benchmarks.md, "The inbox at a million cases").
//
// The million is built only with CANDOUR_BENCH_MILLION=1 (it takes
// minutes and 3 GB of disk). CANDOUR_BENCH_DIR, if set, keeps the built
// data folders there between runs (inbox-100000, inbox-1000000).
//
// Cases are spread as an installation might have them: four channels
// (the viewer in three, which hold 95 % of the cases), five statuses,
// six assignees or no one, deadlines acknowledged or not, a few hundred
// recusals of the viewer, two messages each, and case rows of their real
// size (a post-quantum case recipient, a wrapped identity, a summary).
func BenchmarkInboxHTTP(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}} {
		n := size.n
		b.Run(size.name, func(b *testing.B) {
			if n > 100_000 && os.Getenv("CANDOUR_BENCH_MILLION") != "1" {
				b.Skip("CANDOUR_BENCH_MILLION=1 builds a million cases")
			}
			benchInbox(b, inboxData(b, n))
		})
	}
}

// inboxBenchViewer is the caseworker whose inbox is measured.
const inboxBenchViewer = "viewer"

// inboxData is a data folder of n cases, built by the real migrations and
// then filled by direct inserts in one transaction.
func inboxData(b *testing.B, n int) string {
	dir := b.TempDir()
	if cache := os.Getenv("CANDOUR_BENCH_DIR"); cache != "" {
		dir = filepath.Join(cache, fmt.Sprintf("inbox-%d", n))
		if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
			return dir
		}
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	db, err := storage.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	kdf, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 8192, Threads: 1, Salt: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	channels := []int64{storage.DefaultChannel}
	for _, name := range []string{"Second", "Third", "Not the viewer's"} {
		id, err := db.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: name}})
		if err != nil {
			b.Fatal(err)
		}
		channels = append(channels, id)
	}
	var staff []int64
	for i := range 7 {
		name := fmt.Sprintf("staff%d", i)
		if i == 0 {
			name = inboxBenchViewer
		}
		st, err := db.CreateStaff(ctx, name, storage.RoleCaseworker)
		if err != nil {
			b.Fatal(err)
		}
		staff = append(staff, st.ID)
		for _, ch := range channels[:3] {
			if err := db.AddChannelMember(ctx, ch, st.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", filepath.Join(dir, storage.FileName)+"?_busy_timeout=10000")
	if err != nil {
		b.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	defer raw.Close()
	// The build is not the measurement: no journal, no sync.
	for _, p := range []string{`PRAGMA journal_mode=OFF`, `PRAGMA synchronous=OFF`, `PRAGMA cache_size=-262144`} {
		if _, err := raw.Exec(p); err != nil {
			b.Fatal(err)
		}
	}
	tx, err := raw.Begin()
	if err != nil {
		b.Fatal(err)
	}
	insCase, err := tx.Prepare(`INSERT INTO cases (ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at,
		channel_id, assignee_id, ack_by_day, acknowledged_day, feedback_by_day, staff_activity_seq, summary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	insMsg, err := tx.Prepare(`INSERT INTO messages (case_id, seq, author, created_at, ciphertext) VALUES (?, ?, ?, ?, x'00')`)
	if err != nil {
		b.Fatal(err)
	}
	insRecusal, err := tx.Prepare(`INSERT INTO case_recusals (case_id, staff_id, reason) VALUES (?, ?, 'bench')`)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(14, uint64(n)))
	recipient := "age1pq1" + strings.Repeat("q", 1959-len("age1pq1"))
	wrapped := bytes.Repeat([]byte{0xa5}, 260)
	summary := bytes.Repeat([]byte{0x5a}, 700)
	const day = 86400
	// Received over five years up to today, oldest first.
	today := time.Now().UTC().Truncate(24 * time.Hour).Unix()
	first := today - 5*365*day
	statuses := []string{storage.StatusNew, storage.StatusInReview, storage.StatusAwaitingReporter, storage.StatusReferred, storage.StatusClosed}
	var seq int64
	for i := range n {
		created := first + int64(i)*(today-first)/int64(n)
		created -= created % day
		var channel int64
		switch r := rng.IntN(100); {
		case r < 60:
			channel = channels[0]
		case r < 80:
			channel = channels[1]
		case r < 95:
			channel = channels[2]
		default:
			channel = channels[3]
		}
		// Old cases are mostly closed, recent ones mostly open.
		status, closed := statuses[rng.IntN(4)], 90
		if i > n*95/100 {
			closed = 30
		}
		if rng.IntN(100) < closed {
			status = storage.StatusClosed
		}
		var assignee any
		if rng.IntN(10) < 7 {
			assignee = staff[rng.IntN(len(staff))]
		}
		updated := min(created+int64(rng.IntN(60))*day, today)
		var staffSeq int64
		if rng.IntN(2) == 0 {
			seq++
			staffSeq = seq
		}
		ackBy := created + 7*day
		var acked, feedbackBy any
		if status != storage.StatusNew {
			acked, feedbackBy = created+2*day, created+92*day
		}
		res, err := insCase.Exec(fmt.Sprintf("B%03d-%04d", i/10000, i%10000), fmt.Sprintf("L%030d", i), kdf.ID, wrapped, recipient,
			status, created, updated, channel, assignee, ackBy, acked, feedbackBy, staffSeq, summary)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		for j := range 2 {
			author := "reporter"
			if j == 1 {
				author = "staff"
			}
			if _, err := insMsg.Exec(id, j+1, author, created); err != nil {
				b.Fatal(err)
			}
		}
		if i%2500 == 7 {
			if _, err := insRecusal.Exec(id, staff[0]); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := tx.Exec(`UPDATE staff_activity SET seq = ?`, seq); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

var (
	olderLinkRE = regexp.MustCompile(`<a href="([^"]+)"[^>]*>(?:Older|Next page)</a>`)
	newerLinkRE = regexp.MustCompile(`<a href="([^"]+)"[^>]*>(?:Newer|Previous page)</a>`)
	pagesRE     = regexp.MustCompile(`Page \d+ of (\d+)\.`)
)

// benchInbox starts the server over dir, logs the viewer in and measures
// the inbox's pages.
func benchInbox(b *testing.B, dir string) {
	ctx := context.Background()
	db, err := storage.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	org, err := age.GenerateHybridIdentity()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := crypto.ParseRecipientsString(org.Recipient().String())
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Config{OrgName: "Bench Watchdog", Recipients: rs, KDF: fastKDF, LoginFloor: time.Millisecond,
		SubmissionsPerMinute: 100000, CleanerPath: server.CleanerPath(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, db)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	base := "http://" + ln.Addr().String()

	// The viewer's credentials, set as enrolment sets them.
	viewer, err := db.StaffByUsername(ctx, inboxBenchViewer)
	if err != nil {
		b.Fatal(err)
	}
	token := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	if err := db.ResetStaffCredentials(ctx, viewer.ID); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateEnrolment(ctx, viewer.ID, storage.HashToken(token), time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	hash, err := crypto.HashPassword(goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "bench", AccountName: inboxBenchViewer})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.CompleteEnrolment(ctx, storage.HashToken(token), hash, key.Secret(), 0, nil); err != nil {
		b.Fatal(err)
	}
	code, err := totp.GenerateCodeCustom(key.Secret(), time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		b.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if c.Jar, err = cookiejar.New(nil); err != nil {
		b.Fatal(err)
	}
	res, err := c.PostForm(base+"/staff/login", url.Values{"username": {inboxBenchViewer}, "password": {goodPassword}, "totp": {code}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %d", res.StatusCode)
	}
	fetch := func(b *testing.B, path string) string {
		res, err := c.Get(base + path)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`id="inbox-cases"`)) {
			b.Fatalf("GET %s: %d %v (%d bytes)", path, res.StatusCode, err, len(body))
		}
		return string(body)
	}
	link := func(re *regexp.Regexp, page string) string {
		if m := re.FindStringSubmatch(page); m != nil {
			return html.UnescapeString(m[1])
		}
		return ""
	}
	// last is the page most recently measured, for the link followers;
	// lastFollowed says a following has started.
	var last string
	lastFollowed := false
	// measure times each GET of next() and reports the median and p90.
	measure := func(name string, next func(b *testing.B) string) {
		b.Run(name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				path := next(b)
				start := time.Now()
				page := fetch(b, path)
				times = append(times, time.Since(start))
				last = page
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2])/1e6, "median-ms")
			b.ReportMetric(float64(times[len(times)*9/10])/1e6, "p90-ms")
			b.ReportMetric(float64(times[len(times)-1])/1e6, "max-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
	fixed := func(path string) func(*testing.B) string { return func(*testing.B) string { return path } }
	measure("first page", fixed("/staff/"))
	measure("status filter", fixed("/staff/?status=in_review"))
	measure("channel filter", fixed("/staff/?channel=3"))
	measure("by deadline", fixed("/staff/?sort=deadline"))
	measure("overdue and mine", fixed("/staff/?assigned=me&deadline=overdue"))
	// Older, page after page from the first, each one measured.
	measure("following Older", func(b *testing.B) string {
		if next := link(olderLinkRE, last); next != "" && lastFollowed {
			return next
		}
		lastFollowed = true
		return "/staff/"
	})
	// A deep page: page numbers go there directly; cursors are followed
	// there (unmeasured), 100,000 cases deep at most.
	first := fetch(b, "/staff/")
	deep := ""
	if m := pagesRE.FindStringSubmatch(first); m != nil {
		pages, _ := strconv.Atoi(m[1])
		deep = fmt.Sprintf("/staff/?page=%d", pages/2)
	} else {
		page, path := first, "/staff/"
		for range 2000 {
			next := link(olderLinkRE, page)
			if next == "" {
				break
			}
			path, page = next, fetch(b, next)
		}
		deep = path
	}
	measure("deep page", fixed(deep))
	// Back towards the first page from the deep one, each one measured.
	lastFollowed = false
	last = fetch(b, deep)
	measure("following Newer from deep", func(b *testing.B) string {
		if next := link(newerLinkRE, last); next != "" && lastFollowed {
			return next
		}
		lastFollowed = true
		return deep
	})
}
