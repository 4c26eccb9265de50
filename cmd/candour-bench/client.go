package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// newHTTPClient keeps up to conns connections alive to the server and
// never follows redirects (a 303 is the answer to check).
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // loopback only, whatever the environment says
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Minute,
	}
}

// text returns n bytes of printable text, as a reporter might type.
func text(n int) string {
	words := []string{"the", "officer", "said", "on", "shift", "message", "group", "chat", "sergeant",
		"station", "evidence", "screenshot", "wrote", "again", "about", "people", "night", "report"}
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.String()[:n]
}

// formBody encodes fields, in order, as multipart/form-data.
func formBody(fields ...[2]string) (contentType string, body []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

var caseCodeRe = regexp.MustCompile(`id="case-code">([^<]+)<`)

// submitReport posts a new report and returns its case code.
func submitReport(ctx context.Context, c *http.Client, base, contentType string, body io.Reader, size int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/report", body)
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", contentType)
	return pageMatch(c, req, caseCodeRe, "POST /report", "case code on the receipt")
}

// pageMatch sends req and returns the first group of re in the 200 page
// that answers it; what names the request and the match in errors.
func pageMatch(c *http.Client, req *http.Request, re *regexp.Regexp, what, match string) (string, error) {
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	page, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", what, res.Status)
	}
	m := re.FindSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("%s: no %s", what, match)
	}
	return string(m[1]), nil
}

// followupLogin logs in with a case code and returns the session cookie.
func followupLogin(ctx context.Context, c *http.Client, base, code string) (*http.Cookie, error) {
	res, err := postCode(ctx, c, base, code)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("POST /followup: %s", res.Status)
	}
	for _, ck := range res.Cookies() {
		if strings.HasSuffix(ck.Name, "candour_session") && ck.Value != "" {
			return ck, nil
		}
	}
	return nil, errors.New("POST /followup: no session cookie")
}

// postCode posts a case code to the follow-up form; the answer's body is
// read and closed.
func postCode(ctx context.Context, c *http.Client, base, code string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/followup",
		strings.NewReader(url.Values{"code": {code}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// wrongCode posts a well-formed code that opens no case; the server answers
// 403 after its login floor.
func wrongCode(ctx context.Context, c *http.Client, base, code string) error {
	res, err := postCode(ctx, c, base, code)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusForbidden {
		return fmt.Errorf("POST /followup with a wrong code: %s", res.Status)
	}
	return nil
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// caseCSRF reads the case page's CSRF token.
func caseCSRF(ctx context.Context, c *http.Client, base string, session *http.Cookie) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/case", nil)
	if err != nil {
		return "", err
	}
	req.AddCookie(session)
	return pageMatch(c, req, csrfRe, "GET /case", "CSRF token")
}

// sendMessage posts a follow-up message; the server answers 303 once it is
// durably stored.
func sendMessage(ctx context.Context, c *http.Client, base string, session *http.Cookie, contentType string, body []byte) error {
	return sendMessageStream(ctx, c, base, session, contentType, bytes.NewReader(body), int64(len(body)))
}

// sendMessageStream is sendMessage with a body of size bytes streamed from
// body (a large attachment, say).
func sendMessageStream(ctx context.Context, c *http.Client, base string, session *http.Cookie, contentType string, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/case/message", body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", contentType)
	req.AddCookie(session)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/case?sent=1" {
		return fmt.Errorf("POST /case/message: %s (Location %q)", res.Status, res.Header.Get("Location"))
	}
	return nil
}

// stats are what a load run measured.
type stats struct {
	rate    float64 // operations completed in the window, per second
	n       int
	window  time.Duration
	errs    int64
	err     error // the first error
	latency []time.Duration
	runs    []float64 // the rate of each run, when combined
}

// combine adds up runs of the same load.
func combine(sts []stats) stats {
	var c stats
	for _, st := range sts {
		c.n += st.n
		c.window += st.window
		c.errs += st.errs
		if c.err == nil {
			c.err = st.err
		}
		c.latency = append(c.latency, st.latency...)
		c.runs = append(c.runs, st.rate)
	}
	c.rate = float64(c.n) / c.window.Seconds()
	return c
}

// median is the median rate of the runs combined, min the least.
func (s stats) median() float64 { return samples(s.runs).median() }
func (s stats) min() float64    { return samples(s.runs).min() }

// String gives the median rate of the runs combined, then the least and
// greatest.
func (s stats) String(unit string) string {
	return fmt.Sprintf("%.1f %s (median; %.1f–%.1f over %d runs)", s.median(), unit, s.min(), slices.Max(s.runs), len(s.runs))
}

// rates lists the rate of each run combined.
func (s stats) rates() string {
	var b strings.Builder
	for i, r := range s.runs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.1f", r)
	}
	return b.String() + " /s"
}

func (s stats) percentile(p float64) time.Duration {
	if len(s.latency) == 0 {
		return 0
	}
	l := slices.Clone(s.latency)
	slices.Sort(l)
	return l[min(len(l)-1, int(p*float64(len(l))))]
}

// load runs workers goroutines, each calling op in a loop, for warm and
// then d; it counts the operations that finish within d. An operation still
// running at the end is waited for but not counted.
func load(ctx context.Context, workers int, warm, d time.Duration, op func(ctx context.Context, worker int) error) stats {
	start := time.Now()
	from, to := start.Add(warm), start.Add(warm+d)
	var mu sync.Mutex
	var st stats
	var errs atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var lat []time.Duration
			for ctx.Err() == nil && time.Now().Before(to) {
				t0 := time.Now()
				err := op(ctx, w)
				t1 := time.Now()
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					if errs.Add(1) == 1 {
						mu.Lock()
						st.err = err
						mu.Unlock()
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if !t1.Before(from) && !t1.After(to) {
					lat = append(lat, t1.Sub(t0))
				}
			}
			mu.Lock()
			st.latency = append(st.latency, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	st.n = len(st.latency)
	st.window = d
	st.errs = errs.Load()
	st.rate = float64(st.n) / d.Seconds()
	return st
}
