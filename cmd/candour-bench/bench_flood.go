package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/candour/candour/crypto"
)

// floodRounds is how many loaded runs benchmark 7 makes, each between two
// unloaded ones; a loaded run lasts --flood-duration.
const floodRounds = 3

// benchLoginFlood is benchmark 7: a reporter with the right case code
// logging in while --hammer clients send wrong codes and --clients clients
// submit new reports, all at once, against a fresh server with the default
// Argon2id parameters, pool and login floor. It measures the time from
// sending the code to the answer, for one login after another, and the
// rate of new reports during the flood against the same server unloaded,
// in turns. A login answered "busy" counts as not let in: its time is the
// wait until that answer, and it is reported apart.
//
// The wrong codes are well formed and fresh each time (so each costs the
// server a full derivation), sent by closed-loop clients, each with one
// attempt outstanding: the flood always has hammer logins waiting.
func benchLoginFlood(e *env) ([]result, error) {
	o := e.o
	flags := []string{"--kdf-concurrency", fmt.Sprint(kdfConcurrency)}
	kdf := fmt.Sprintf("argon2id(t=%d, m=%d MiB, p=%d)", crypto.DefaultKDFTime, crypto.DefaultKDFMemoryKiB>>10, crypto.DefaultKDFThreads)
	if o.floodMem > 0 {
		flags = append(flags, "--kdf-memory-mib", fmt.Sprint(o.floodMem))
		kdf = fmt.Sprintf("argon2id(t=%d, m=%d MiB, p=%d), scaled down", crypto.DefaultKDFTime, o.floodMem, crypto.DefaultKDFThreads)
	}
	s, err := e.startServer(flags...)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	ctx := context.Background()
	body := text(textSize)
	reportType, reportBody := formBody([2]string{"body", body})
	hc := newHTTPClient(o.clients + 4)
	// reports counts new reports answered, and wrong (below) wrong codes:
	// each took one derivation, so what they grew by while a login waited
	// is how many derivations went before it, whatever the machine's speed.
	var reports atomic.Int64
	submit := func(ctx context.Context, _ int) error {
		_, err := submitReport(ctx, hc, s.url, reportType, bytes.NewReader(reportBody), int64(len(reportBody)))
		if err == nil {
			reports.Add(1)
		}
		return err
	}
	code, err := submitReport(ctx, hc, s.url, reportType, bytes.NewReader(reportBody), int64(len(reportBody)))
	if err != nil {
		return nil, err
	}
	// The reporter's own client: one connection, as one browser would use.
	reporter := newHTTPClient(1)
	hammerClient := newHTTPClient(o.hammer + 4)

	var wrong, wrongBusy atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	flood := func() (stop func()) {
		fctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range o.hammer {
			wg.Go(func() {
				for fctx.Err() == nil {
					c, _ := crypto.NewCaseCode()
					res, err := postCode(fctx, hammerClient, s.url, c.Display())
					switch {
					case fctx.Err() != nil:
						return
					case err != nil:
						fail(err)
						time.Sleep(10 * time.Millisecond)
					case res.StatusCode == http.StatusForbidden:
						wrong.Add(1)
					case res.StatusCode == http.StatusServiceUnavailable:
						wrongBusy.Add(1)
					default:
						fail(fmt.Errorf("POST /followup with a wrong code: %s", res.Status))
					}
				}
			})
		}
		return func() { cancel(); wg.Wait() }
	}
	// login logs the reporter in once and says how long it took and
	// whether the answer was "busy".
	var turns []int64
	login := func() (time.Duration, bool, error) {
		t0, n0 := time.Now(), reports.Load()+wrong.Load()
		res, err := postCode(ctx, reporter, s.url, code)
		d := time.Since(t0)
		if err != nil {
			return d, false, err
		}
		turns = append(turns, reports.Load()+wrong.Load()-n0)
		switch res.StatusCode {
		case http.StatusSeeOther:
			return d, false, nil
		case http.StatusServiceUnavailable:
			return d, true, nil
		}
		return d, false, fmt.Errorf("POST /followup with the right code: %s", res.Status)
	}

	seg := o.floodDur
	logf("7: %d rounds of: %d clients submitting for %s, then the same while %d clients send wrong codes and a reporter logs in with the right code, one login after another; then unloaded once more",
		floodRounds, o.clients, o.duration/rounds, o.hammer)
	var unloaded, loaded []stats
	var logins []time.Duration
	busy := 0
	floodTime := time.Duration(0)
	for r := range floodRounds + 1 {
		unloaded = append(unloaded, load(ctx, o.clients, time.Second, o.duration/rounds, submit))
		if r == floodRounds {
			break
		}
		stop := flood()
		time.Sleep(2 * time.Second) // the flood fills the login queue
		w0, b0 := wrong.Load(), wrongBusy.Load()
		f0 := time.Now()
		done := make(chan struct{})
		var lerr error
		go func() {
			defer close(done)
			// Logins one after another until the report load ends; the
			// last one is waited for and counted.
			deadline := time.Now().Add(time.Second + seg)
			for time.Now().Before(deadline) {
				d, wasBusy, err := login()
				if err != nil {
					lerr = err
					return
				}
				logins = append(logins, d)
				if wasBusy {
					busy++
				}
			}
		}()
		loaded = append(loaded, load(ctx, o.clients, time.Second, seg, submit))
		<-done
		floodTime += time.Since(f0)
		logf("7: round %d: %d logins so far, %d busy; wrong codes answered %d (%d busy)", r+1, len(logins), busy,
			wrong.Load()-w0, wrongBusy.Load()-b0)
		stop()
		if lerr != nil {
			return nil, lerr
		}
		time.Sleep(2 * time.Second) // logins still queued finish
	}
	if firstErr != nil {
		return nil, fmt.Errorf("benchmark 7: wrong-code requests failed, the first: %w", firstErr)
	}
	u, l := combine(unloaded), combine(loaded)
	for _, st := range []stats{u, l} {
		if st.err != nil {
			return nil, fmt.Errorf("benchmark 7: %d errors, the first: %w", st.errs, st.err)
		}
	}
	if len(logins) == 0 {
		return nil, errors.New("benchmark 7: no login finished")
	}
	sorted := slices.Clone(logins)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	slices.Sort(turns)
	var base samples
	for _, st := range unloaded {
		base = append(base, st.rate)
	}
	ratio := l.rate / u.rate
	var each bytes.Buffer
	for i, d := range logins {
		if i > 0 {
			each.WriteString(", ")
		}
		fmt.Fprintf(&each, "%.1f", d.Seconds())
	}
	return []result{{
		id:       "7a",
		what:     fmt.Sprintf("right-code login while %d clients send wrong codes and %d submit reports", o.hammer, o.clients),
		measured: fmt.Sprintf("median %.1f s (%d logins, %d answered busy)", median.Seconds(), len(logins), busy),
		target:   "≤ 10 s", met: yesNo(median <= 10*time.Second && busy*2 < len(logins)),
		notes: []string{fmt.Sprintf("%s; logins in order, seconds: %s; derivations answered (new reports and wrong codes) while each login waited, sorted: %v, median %d; the median time is that of %.0f new cases unloaded (%.1f /s here), which is what the machine's speed changes; wrong codes answered %.1f /s (%d busy) during the flood",
			kdf, each.String(), turns, turns[len(turns)/2], median.Seconds()*u.rate, u.rate, float64(wrong.Load())/floodTime.Seconds(), wrongBusy.Load())},
	}, {
		id:       "7b",
		what:     "new cases during that flood",
		measured: fmt.Sprintf("%.1f /s", l.rate),
		floor:    "unloaded, same server, in turns: " + base.String("/s"),
		ratio:    ratio, target: "≥ 0.8", met: yesNo(ratio >= 0.8),
		notes: []string{fmt.Sprintf("loaded runs %s; new-case latency p50 %s, p99 %s; peak RSS of this server %s",
			l.rates(), ms(l.percentile(0.5)), ms(l.percentile(0.99)), mib(s.status("VmHWM")))},
	}}, nil
}
