package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candour/candour/internal/pgtest"
)

// The fault test of issue 16: two instances on one PostgreSQL database,
// behind a small round-robin proxy, one of them killed again and again
// while reporters keep sending.

// backendHeader is what the proxy answers with, on every response, to say
// which back end served the request ("0", "1"); a request that carries it
// goes to that back end instead of the next in turn (the header is not
// passed on).
const backendHeader = "X-Fault-Backend"

// roundRobin is the load balancer in front of the instances, as small as
// one can be: each request goes to the next back end in turn, with no
// health checks and no retries, so a request that meets a dead back end,
// or one that dies under it, is answered 502 and the client must retry
// it, as a reporter's browser (or the reporter) would.
type roundRobin struct {
	proxies []*httputil.ReverseProxy
	next    atomic.Uint64
	// badGateway counts the 502 answers: back end dead or gone mid-request.
	badGateway atomic.Int64
	// pinnedSent counts the body bytes passed on of requests that chose
	// their back end: how far a paused upload has reached the instance.
	pinnedSent atomic.Int64
	// hold, when set, catches the next receipt that its back end gives
	// and keeps it from the reporter (see heldAnswer).
	hold atomic.Pointer[heldAnswer]
}

// heldAnswer is a receipt caught on its way back: the report is stored,
// but the reporter has not seen its code. held is closed once it is
// caught; the proxy then waits for release (or for abandon, if the test
// ends early) and answers 502, as it would if the instance had died
// before it answered.
type heldAnswer struct {
	backend       int
	held, release chan struct{}
	abandon       <-chan struct{}
	code          string // the case code held back, set before held is closed
}

// errAnswerHeld stands for the answer that the proxy did not pass on.
var errAnswerHeld = errors.New("the answer was held back and dropped")

func newRoundRobin(t *testing.T, backends []string) *roundRobin {
	p := &roundRobin{}
	for i, b := range backends {
		target, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		i, tag := i, strconv.Itoa(i)
		p.proxies = append(p.proxies, &httputil.ReverseProxy{
			// Rewrite, not Director: no X-Forwarded-For is added; the
			// reporter's address goes no further than the proxy.
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host
				if pr.In.Header.Get(backendHeader) != "" {
					pr.Out.Header.Del(backendHeader)
					if pr.Out.Body != nil {
						pr.Out.Body = &countedBody{ReadCloser: pr.Out.Body, n: &p.pinnedSent}
					}
				}
			},
			Transport: &http.Transport{MaxIdleConnsPerHost: 16},
			ModifyResponse: func(res *http.Response) error {
				res.Header.Set(backendHeader, tag)
				h := p.hold.Load()
				if h == nil || h.backend != i || res.Request.Method != "POST" || res.Request.URL.Path != "/report" {
					return nil
				}
				page, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					return err
				}
				if m := caseCodeRE.FindSubmatch(page); res.StatusCode == http.StatusOK && m != nil && p.hold.CompareAndSwap(h, nil) {
					h.code = string(m[1])
					close(h.held)
					select {
					case <-h.release:
					case <-h.abandon:
					}
					return errAnswerHeld
				}
				res.Body = io.NopCloser(bytes.NewReader(page))
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				p.badGateway.Add(1)
				w.Header().Set(backendHeader, tag)
				w.WriteHeader(http.StatusBadGateway)
			},
			ErrorLog: discardLog,
		})
	}
	return p
}

func (p *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(p.next.Add(1) % uint64(len(p.proxies)))
	if pin := r.Header.Get(backendHeader); pin != "" {
		var err error
		if i, err = strconv.Atoi(pin); err != nil || i < 0 || i >= len(p.proxies) {
			http.Error(w, "no such back end", http.StatusBadRequest)
			return
		}
	}
	p.proxies[i].ServeHTTP(w, r)
}

// countedBody counts the bytes read from a request body into n.
type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countedBody) Read(b []byte) (int, error) {
	k, err := c.ReadCloser.Read(b)
	c.n.Add(int64(k))
	return k, err
}

// discardLog keeps the proxy quiet: its errors are counted instead.
var discardLog = log.New(io.Discard, "", 0)

var (
	hiddenFieldRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	auditCountRE  = regexp.MustCompile(`intact: (\d+) entries`)
)

// hiddenFields are a page's hidden form fields (the report form's channel,
// one-time token, questionnaire and step), in order.
func hiddenFields(page string) [][2]string {
	var fields [][2]string
	for _, m := range hiddenFieldRE.FindAllStringSubmatch(page, -1) {
		fields = append(fields, [2]string{m[1], html.UnescapeString(m[2])})
	}
	return fields
}

// TestFaultTwoInstancesOnPostgres runs two `candour serve` processes on one
// PostgreSQL database behind a round-robin proxy on 127.0.0.1, so that a
// reporter's GET of the form and POST of it often land on different
// instances. Reporters send reports with a file each, and staff logins
// that fail (each one an audit entry, so that both instances append to the
// hash chain at once). One instance at a time is killed with SIGKILL and
// restarted on the same port; which one alternates, and after the last
// kill the victim stays down. The kills are driven by progress, never by
// the clock, and are of three kinds, in turn, each once on each instance:
// once a random number (1 to 4) of receipts has come back since the last
// restart; once one has, and a large upload pinned to the victim has then
// sent a random part of its body and the proxy has passed it on, so that
// the kill lands mid-upload; and once one has, and the proxy has caught a
// receipt from the victim on its way back, so that the report is stored
// but its answer is lost with the instance.
//
// A request that fails (502 from the proxy, or cut off) is sent again,
// with the same form, until it gets an answer from a live instance. The
// form's one-time token must keep a retry of a report that was stored,
// but whose answer was lost, from making a second case: such a retry gets
// the same receipt (where receipts are kept in the database, shared by the
// instances), or 409 with a fresh form, which the reporter sends as a new
// report. Never 503 busy: the claim of an attempt that died with its
// instance is taken over by the retry at once (its instance's lock is
// gone with it), which goes on as the report, or finds the form used
// (409). So the database must hold exactly one case per receipt and one
// per 409; each receipt held back must have been given again or answered
// 409; and each case has its message and its whole file.
//
// Every acknowledged case must then open through /followup, with its text,
// on the surviving instance while the other is still down, and again on
// the restarted one; the export must decrypt with the organisation's age
// identity to every text and every file (SHA-256) that was acknowledged;
// and `candour audit verify` on the database must find the hash chain
// intact, with at least one entry per failed login that was answered.
//
// The receipt counts, sizes and kill points come from a seed that is
// logged; CANDOUR_FAULT_SEED replays them (the interleaving still varies).
func TestFaultTwoInstancesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("kills instances repeatedly under load: skipped in -short mode")
	}
	t.Parallel()
	const rounds, reporters = 6, 6 // each kind of kill once on each instance
	const (
		killAfterReceipts = iota
		killMidUpload
		killWithAnswerHeld
	)
	const maxAttempts = 500 // per request; only a hang guard, far above what a kill costs
	rng := faultSeed(t)

	dsn := pgtest.Start(t).NewDatabase(t)
	env := []string{"CANDOUR_DATABASE=" + dsn}
	dir := t.TempDir()
	keyFile, recipients := newKey(t, dir)
	type instance struct {
		data, addr string
		cmd        *exec.Cmd
	}
	var inst [2]*instance
	backends := make([]string, len(inst))
	for i := range inst {
		inst[i] = &instance{data: filepath.Join(dir, fmt.Sprintf("data-%d", i)), addr: freeAddr(t)}
		inst[i].cmd = startServerEnv(t, env, inst[i].data, recipients, inst[i].addr)
		backends[i] = "http://" + inst[i].addr
	}
	proxy := newRoundRobin(t, backends)
	front := httptest.NewServer(proxy)
	defer front.Close()
	base := front.URL

	type receipt struct {
		code, text, name string
		sum              [sha256.Size]byte
		// again counts the earlier cases of this report: stored, their
		// answer lost, their form then sent again and found used.
		again int
	}
	var (
		mu         sync.Mutex
		receipts   []receipt
		unexpected []string
		acked      atomic.Int64    // receipts so far, for the kill trigger
		ackedBy    [2]atomic.Int64 // receipts per instance
		repeats    atomic.Int64    // 409: a retried form had made its case already
		retries    atomic.Int64    // requests sent again after a 502 or a cut
		crossed    atomic.Int64    // reports whose form came from the other instance
		refusedLog atomic.Int64    // failed staff logins answered (401): audit entries
		progress   = make(chan struct{}, 1)
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		unexpected = append(unexpected, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	// loadCtx ends the reporters' requests if the test gives up on them.
	loadCtx, abortLoad := context.WithCancel(context.Background())
	defer abortLoad()
	// send makes a request through the proxy until a live instance answers
	// it whole, and returns the answer and which instance gave it.
	send := func(hc *http.Client, method, path string, body []byte, ctype string) (int, string, string, bool) {
		for range maxAttempts {
			req, _ := http.NewRequestWithContext(loadCtx, method, base+path, bytes.NewReader(body))
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			res, err := hc.Do(req)
			if err == nil {
				page, rerr := io.ReadAll(res.Body)
				res.Body.Close()
				if rerr == nil && res.StatusCode != http.StatusBadGateway {
					return res.StatusCode, string(page), res.Header.Get(backendHeader), true
				}
			}
			retries.Add(1)
		}
		fail("%s %s: no answer from a live instance in %d attempts", method, path, maxAttempts)
		return 0, "", "", false
	}

	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	stopLoad := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	defer func() { abortLoad(); stopLoad() }() // before front.Close, and on a t.Fatal
	for i := range reporters {
		seed := rng.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(seed, uint64(i)))
			hc := &http.Client{Timeout: patience}
			// A reporter finishes the report it has started, whatever
			// dies meanwhile, and then looks whether to stop.
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				text := fmt.Sprintf("two instances: reporter %d report %d tag %016x", i, n, r.Uint64())
				size := 1 + r.IntN(96<<10)
				if r.IntN(8) == 0 {
					size = 1<<20 + r.IntN(256<<10) // two chunks
				}
				file := make([]byte, size)
				rand.Read(file)
				name := fmt.Sprintf("evidence-%d-%d.bin", i, n)

				again := 0
				status, page, from, ok := send(hc, "GET", "/report", nil, "")
				if !ok {
					return
				}
				fields := hiddenFields(page)
				if status != http.StatusOK || !slices.ContainsFunc(fields, func(f [2]string) bool { return f[0] == "form" }) {
					fail("GET /report: %d, no form token: %s", status, pageGist(page))
					return
				}
				for {
					b, ctype := form(t, append(fields, [2]string{"body", text}), map[string][]byte{name: file})
					body, _ := io.ReadAll(b)
					status, page, to, ok := send(hc, "POST", "/report", body, ctype)
					if !ok {
						return
					}
					m := caseCodeRE.FindStringSubmatch(page)
					if status == http.StatusOK && m != nil {
						if from != to {
							crossed.Add(1)
						}
						k, _ := strconv.Atoi(to)
						ackedBy[k].Add(1)
						mu.Lock()
						receipts = append(receipts, receipt{code: m[1], text: text, name: name, sum: sha256.Sum256(file), again: again})
						mu.Unlock()
						acked.Add(1)
						select {
						case progress <- struct{}{}:
						default:
						}
						break
					}
					if status == http.StatusConflict {
						// The form made a case whose answer was lost; the
						// page keeps the text and offers a fresh form, sent
						// as a new report (with the file attached again).
						repeats.Add(1)
						again++
						if fields = hiddenFields(page); !slices.ContainsFunc(fields, func(f [2]string) bool { return f[0] == "form" }) {
							fail("a 409 answer has no fresh form: %s", pageGist(page))
							return
						}
						from = to
						continue
					}
					if status == http.StatusServiceUnavailable {
						// Busy: the form's claim held by an attempt that
						// died with its instance was not taken over (or
						// the service was overloaded, which this load
						// never makes it).
						fail("a report (its form perhaps sent before to an instance since killed) was answered 503 busy: %s", pageGist(page))
						return
					}
					fail("a live instance answered a report with %d: %s", status, pageGist(page))
					return
				}
				// Now and then a staff login that fails: an audit entry.
				if r.IntN(3) == 0 {
					login := url.Values{"username": {fmt.Sprintf("nobody-%d-%d", i, n)}, "password": {"wrong"}, "totp": {"000000"}}
					status, page, _, ok := send(hc, "POST", "/staff/login", []byte(login.Encode()), "application/x-www-form-urlencoded")
					if !ok {
						return
					}
					if status != http.StatusUnauthorized {
						fail("a failed staff login was answered %d: %s", status, pageGist(page))
						return
					}
					refusedLog.Add(1)
				}
			}
		}()
	}

	// waitProgress waits until cond holds, woken by each receipt; the
	// bound only catches a test that has stopped moving.
	waitProgress := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(patience)
		for !cond() {
			select {
			case <-progress:
			case <-deadline:
				mu.Lock()
				u := slices.Clone(unexpected)
				mu.Unlock()
				t.Fatalf("waited %v for %s and it did not happen (%d receipts; unexpected answers: %q)", patience, what, acked.Load(), u)
			}
		}
	}

	victim := 0
	var helds []*heldAnswer
	for round := range rounds {
		victim = round % 2
		v := inst[victim]
		var big *pausingReader
		var releaseBig func()
		bigDone := make(chan error, 1)
		var bigLen, pauseAt int
		// Traffic goes on after each restart: some receipts first.
		kind := round % 3
		want := acked.Load() + 1
		if kind == killAfterReceipts {
			want += int64(rng.IntN(4))
		}
		waitProgress(fmt.Sprintf("receipt %d", want), func() bool { return acked.Load() >= want })
		var hold *heldAnswer
		switch kind {
		case killWithAnswerHeld:
			hold = &heldAnswer{backend: victim, held: make(chan struct{}), release: make(chan struct{}), abandon: stop}
			helds = append(helds, hold)
			proxy.hold.Store(hold)
			select {
			case <-hold.held:
			case <-time.After(patience):
				t.Fatalf("round %d: waited %v for a receipt from instance %d to hold back", round, patience, victim)
			}
		case killMidUpload:
			bigFile := make([]byte, 1<<20+rng.IntN(2<<20))
			rand.Read(bigFile)
			body, ctype := reportBody(fmt.Sprintf("round %d: the upload that is killed mid-way", round), bigFile)
			bigLen = len(body)
			pauseAt = 64<<10 + rng.IntN(len(body)-128<<10)
			big = &pausingReader{r: bytes.NewReader(body), n: pauseAt, reached: make(chan struct{}), release: make(chan struct{})}
			releaseBig = sync.OnceFunc(func() { close(big.release) })
			defer releaseBig() // if the test ends before the kill
			sentBefore := proxy.pinnedSent.Load()
			pin := strconv.Itoa(victim)
			go func() {
				req, _ := http.NewRequest("POST", base+"/report", big)
				req.Header.Set("Content-Type", ctype)
				req.Header.Set(backendHeader, pin)
				req.ContentLength = int64(len(body))
				// A 502, or the connection cut: the instance died under it.
				// Only a receipt would be wrong, as no instance had it whole.
				res, err := (&http.Client{Timeout: patience}).Do(req)
				if err == nil {
					page, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode == http.StatusOK || caseCodeRE.MatchString(string(page)) {
						bigDone <- fmt.Errorf("the upload paused mid-way got a receipt: %d %s", res.StatusCode, pageGist(string(page)))
						return
					}
				}
				bigDone <- nil
			}()
			select {
			case <-big.reached:
			case err := <-bigDone:
				t.Fatalf("round %d: the large upload ended before it had sent %d bytes: %v", round, pauseAt, err)
			case <-time.After(patience):
				t.Fatalf("round %d: waited %v for the large upload to send %d bytes", round, patience, pauseAt)
			}
			// The client's and the proxy's write buffers (4 KiB each) may
			// hold the last bytes back: the instance has the rest.
			waitFor(t, "the proxy to pass the paused upload's bytes on", func() (bool, error) {
				got := proxy.pinnedSent.Load() - sentBefore
				return got >= int64(pauseAt-16<<10), fmt.Errorf("%d of %d bytes passed on", got, pauseAt)
			})
		}
		kill9(t, v.cmd)
		switch {
		case hold != nil:
			close(hold.release)
			t.Logf("round %d: killed instance %d with a receipt it gave held back; %d receipts so far", round, victim, acked.Load())
		case big != nil:
			releaseBig()
			if err := <-bigDone; err != nil {
				t.Errorf("round %d: %v", round, err)
			}
			t.Logf("round %d: killed instance %d with a %d-byte upload paused in it at byte %d; %d receipts so far",
				round, victim, bigLen, pauseAt, acked.Load())
		default:
			t.Logf("round %d: killed instance %d after %d receipts", round, victim, acked.Load())
		}
		if round < rounds-1 {
			v.cmd = startServerEnv(t, env, v.data, recipients, v.addr)
		}
	}
	// The last victim stays down while the load ends: reporters finish
	// their reports through the survivor. The bound only turns a survivor
	// that takes no more reports into a failure instead of a hang.
	finished := make(chan struct{})
	go func() { stopLoad(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(patience):
		abortLoad()
		<-finished
		mu.Lock()
		u := slices.Clone(unexpected)
		mu.Unlock()
		t.Fatalf("after the last kill, the reporters' reports were not all answered by the surviving instance %d in %v (%d receipts; unexpected answers: %q)",
			1-victim, patience, acked.Load(), u)
	}
	survivor := 1 - victim

	t.Logf("%d reports acknowledged (%d by instance 0, %d by instance 1), %d of them on a form from the other instance; "+
		"%d requests sent again, %d answers 502, %d forms already used (409); %d failed staff logins answered",
		len(receipts), ackedBy[0].Load(), ackedBy[1].Load(), crossed.Load(),
		retries.Load(), proxy.badGateway.Load(), repeats.Load(), refusedLog.Load())
	for _, u := range unexpected {
		t.Errorf("unexpected: %s", u)
	}
	if len(receipts) == 0 || ackedBy[0].Load() == 0 || ackedBy[1].Load() == 0 {
		t.Fatal("each instance must have acknowledged reports for the test to prove anything")
	}
	if crossed.Load() == 0 {
		t.Error("no report was sent on a form from the other instance: the proxy did not mix them")
	}
	if proxy.badGateway.Load() == 0 {
		t.Error("no request met a dead instance: the kills were not felt")
	}
	// A receipt held back is given again to the retry of its form where
	// receipts are kept in the database; else the retry is told its form
	// was used (409). Never busy (failed above, as unexpected).
	codes := map[string]bool{}
	for _, r := range receipts {
		codes[r.code] = true
	}
	var givenAgain int64
	for _, h := range helds {
		if codes[h.code] {
			givenAgain++
		}
	}
	if int64(len(helds)) > givenAgain+repeats.Load() {
		t.Errorf("%d receipts held back, %d of them given again, %d forms found used: a retry of a stored form made a new case",
			len(helds), givenAgain, repeats.Load())
	}
	t.Logf("%d receipts held back: %d given again to the retry of their form", len(helds), givenAgain)

	// Every acknowledged report opens on the survivor, the other being
	// down, and then on the restarted victim.
	codeText := func(r receipt) (string, string) { return r.code, r.text }
	openAll(t, backends[survivor], receipts, codeText)
	inst[victim].cmd = startServerEnv(t, env, inst[victim].data, recipients, inst[victim].addr)
	openAll(t, backends[victim], receipts, codeText)

	// One case per receipt and per form found used, none more: a retry
	// never made a second case. Each has its message and its whole file.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cases, messages, linked, incomplete, pending int64
	err = db.QueryRowContext(context.Background(), `SELECT
		(SELECT count(*) FROM cases), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM attachments WHERE message_id IS NOT NULL),
		(SELECT count(*) FROM attachments a WHERE a.message_id IS NOT NULL AND a.chunks !=
		  (SELECT count(*) FROM attachment_chunks c WHERE c.attachment_id = a.id AND c.seq BETWEEN 0 AND a.chunks - 1)),
		(SELECT count(*) FROM attachments WHERE message_id IS NULL)`).
		Scan(&cases, &messages, &linked, &incomplete, &pending)
	if err != nil {
		t.Fatalf("counting rows: %v", err)
	}
	if want := int64(len(receipts)) + repeats.Load(); cases != want {
		t.Errorf("%d cases stored; want %d (%d acknowledged + %d whose answer was lost and whose form was sent again)",
			cases, want, len(receipts), repeats.Load())
	}
	if messages != cases || linked != cases {
		t.Errorf("%d cases, %d messages, %d attachments of messages: want one message and one file a case", cases, messages, linked)
	}
	if incomplete != 0 {
		t.Errorf("%d attachments of messages lack some of their chunks", incomplete)
	}
	// Uploads cut by a kill leave pending attachments on PostgreSQL until a
	// sweep of the uploads of dead instances, which this base lacks: they
	// are counted, not judged.
	t.Logf("%d pending attachments (uploads cut by a kill) remain", pending)

	// The export decrypts, offline, with the organisation's age identity,
	// to every acknowledged text and file; the audit trail is intact.
	texts := make([]string, len(receipts))
	files := map[string]receipt{}
	for i, r := range receipts {
		texts[i] = r.text
		files[r.name] = r
	}
	plain := exportDecryptedFrom(t, dir, keyFile, "--database", dsn)
	checkTexts(t, plain, texts)
	paths, _ := filepath.Glob(filepath.Join(plain, "*", "attachments", "*"))
	found := map[string]int{}
	for _, p := range paths {
		want, ok := files[filepath.Base(p)]
		if !ok {
			continue
		}
		found[want.name]++
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(b) != want.sum {
			t.Errorf("acknowledged file %s decrypts to %d bytes that are not those sent", want.name, len(b))
		}
	}
	for name, r := range files {
		// A report sent again has the same file in its earlier case.
		if found[name] != 1+r.again {
			t.Errorf("the decrypted export holds acknowledged file %s %d times, want %d", name, found[name], 1+r.again)
		}
	}

	out := candourEnv(t, env, "audit", "verify")
	m := auditCountRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("audit verify: %s", out)
	}
	if n, _ := strconv.ParseInt(m[1], 10, 64); n < refusedLog.Load() {
		t.Errorf("the audit trail holds %d entries, fewer than the %d failed logins that were answered", n, refusedLog.Load())
	}
	t.Logf("audit verify: %s", strings.TrimSpace(out))
}
