package main

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/candour/candour/crypto"
)

// textSize is the text of every report and message: 4 KB.
const textSize = 4096

// kdfConcurrency is passed to the server as --kdf-concurrency (it is the
// default) and is the parallelism of benchmark 1's floor.
const kdfConcurrency = 2

// rounds is how many times each server measurement alternates with its
// floor (or, in benchmark 5, with its unloaded run); the floor runs once
// more at the end.
const rounds = 3

// benchDefaultServer runs benchmarks 1, 2 and 5 against one server with the
// default Argon2id parameters and login floor: the cost of a new case is
// the point of benchmark 1, and the contention of logins with new cases
// that of benchmark 5. Only the submission budget is raised.
func benchDefaultServer(e *env) ([]result, error) {
	o := e.o
	s, err := e.startServer("--kdf-concurrency", fmt.Sprint(kdfConcurrency))
	if err != nil {
		return nil, err
	}
	defer s.stop()
	ctx := context.Background()
	body := text(textSize)
	reportType, reportBody := formBody([2]string{"body", body})
	hc := newHTTPClient(max(o.clients, o.msgConns) + 4)
	submit := func(ctx context.Context, _ int) error {
		_, err := submitReport(ctx, hc, s.url, reportType, bytes.NewReader(reportBody), int64(len(reportBody)))
		return err
	}
	seg := o.duration / rounds
	warmFor := func(r int) time.Duration {
		if r == 0 {
			return 2 * time.Second
		}
		return time.Second
	}
	var out []result

	if o.only["1"] {
		params, err := crypto.NewKDFParams(crypto.DefaultKDFTime, crypto.DefaultKDFMemoryKiB, crypto.DefaultKDFThreads)
		if err != nil {
			return nil, err
		}
		logf("1: %d rounds of: floor (%s, %d at a time) for %s, then %d clients submitting new reports for %s",
			rounds, params, kdfConcurrency, o.floorDur, o.clients, seg)
		var f samples
		var segs []stats
		var cpu cpuUse
		restore := keepKDFHeap()
		// The heap grows to its steady size in a first run, discarded: a
		// cold process's derivations fault in fresh memory (see kdfFloor),
		// which a busy server's do not. The floor is the median of the
		// warm runs that follow.
		if _, err := kdfFloor(params, kdfConcurrency, o.floorDur); err != nil {
			return nil, err
		}
		wait := e.profile(s, "1-new-cases", o.duration+rounds*(o.floorDur+3*time.Second))
		for r := range rounds + 1 {
			x, err := kdfFloor(params, kdfConcurrency, o.floorDur)
			if err != nil {
				return nil, err
			}
			f = append(f, x)
			if r == rounds {
				break
			}
			cpu.measure(s, func() { segs = append(segs, load(ctx, o.clients, warmFor(r), seg, submit)) })
		}
		wait()
		restore()
		st := combine(segs)
		if st.err != nil {
			return nil, fmt.Errorf("benchmark 1: %d errors, the first: %w", st.errs, st.err)
		}
		ratio := st.median() / f.median()
		out = append(out, result{
			id:       "1",
			what:     "new cases over HTTP (4 KB text, 5 PQ recipients: 3 organisation keys, channel key, case key)",
			measured: st.String("/s"),
			floor:    fmt.Sprintf("Argon2id %s, %d at a time: %s", params, kdfConcurrency, f.String("/s")),
			ratio:    ratio, target: "≥ 0.9", met: yesNo(ratio >= 0.9),
			notes: []string{fmt.Sprintf("%d clients; server runs %s; latency p50 %s, p99 %s; %d cases; %s",
				o.clients, st.rates(), ms(st.percentile(0.5)), ms(st.percentile(0.99)), st.n, cpu)},
		})
	}

	if o.only["2"] {
		code, err := submitReport(ctx, hc, s.url, reportType, bytes.NewReader(reportBody), int64(len(reportBody)))
		if err != nil {
			return nil, err
		}
		session, err := followupLogin(ctx, hc, s.url, code)
		if err != nil {
			return nil, err
		}
		csrf, err := caseCSRF(ctx, hc, s.url, session)
		if err != nil {
			return nil, err
		}
		msgType, msgBody := formBody([2]string{"csrf", csrf}, [2]string{"body", body})
		send := func(ctx context.Context, _ int) error {
			return sendMessage(ctx, hc, s.url, session, msgType, msgBody)
		}
		logf("2: %d rounds of: floor (seal on every processor + grouped durable commits from %d writers) for %s, then %d clients sending follow-up messages in one session for %s",
			rounds, o.msgConns, o.floorDur, o.msgConns, seg)
		var f samples
		var floorCPU time.Duration
		var segs []stats
		var cpu cpuUse
		wait := e.profile(s, "2-messages", o.duration+rounds*(o.floorDur+2*time.Second))
		for r := range rounds + 1 {
			x, c, err := sealCommitFloor(e.dir, e.recipients, e.channel, body, o.msgConns, o.floorDur)
			if err != nil {
				return nil, err
			}
			f = append(f, x)
			floorCPU += c / (rounds + 1)
			if r == rounds {
				break
			}
			cpu.measure(s, func() { segs = append(segs, load(ctx, o.msgConns, warmFor(r), seg, send)) })
		}
		wait()
		st := combine(segs)
		if st.err != nil {
			return nil, fmt.Errorf("benchmark 2: %d errors, the first: %w", st.errs, st.err)
		}
		ratio := st.median() / f.median()
		r := result{
			id:       "2",
			what:     "follow-up messages in one reporter session (4 KB, 5 PQ recipients: 3 organisation keys, channel key, case key)",
			measured: st.String("/s"),
			floor:    fmt.Sprintf("in process, age seal on every processor + durable commits grouped as the server's, %d writers: ", o.msgConns) + f.String("/s"),
			ratio:    ratio, target: "≥ 0.5, and ≥ 1,500 /s in each run", met: yesNo(ratio >= 0.5 && st.min() >= 1500),
			notes: []string{fmt.Sprintf("%d clients, one session; server runs %s; latency p50 %s, p99 %s; %d messages; %s",
				o.msgConns, st.rates(), ms(st.percentile(0.5)), ms(st.percentile(0.99)), st.n, cpu)},
		}
		// Processor time per message, the server's from its use over the
		// runs: a busy machine lowers the rates, but hardly this.
		serverCPU := time.Duration(float64(cpu.server) / float64(cpu.wall) / st.rate * float64(time.Second))
		r.notes = append(r.notes, fmt.Sprintf("processor time per message: server %.2f ms, floor %.2f ms (ratio %.2f); at that cost %d idle processors would store %.0f messages a second",
			float64(serverCPU)/1e6, float64(floorCPU)/1e6, float64(floorCPU)/float64(serverCPU), runtime.NumCPU(), float64(runtime.NumCPU())*float64(time.Second)/float64(serverCPU)))
		if runtime.NumCPU() != 2 {
			r.notes = append(r.notes, fmt.Sprintf("the 1,500 /s target is for 2 cores; this machine has %d", runtime.NumCPU()))
		}
		out = append(out, r)
	}

	if o.only["5"] {
		logf("5: %d rounds of: %d clients submitting for %s, then the same while %d clients send wrong codes; then unloaded once more",
			rounds, o.clients, seg, o.hammer)
		hammerClient := newHTTPClient(o.hammer + 4)
		var attempts, hammerErrs atomic.Int64
		var firstErr error
		var once sync.Once
		// hammer sends wrong codes from o.hammer clients until the returned
		// function is called; attempts answered while counting are counted.
		hammer := func(counting *atomic.Bool) (stop func()) {
			hctx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for range o.hammer {
				wg.Go(func() {
					for hctx.Err() == nil {
						code, _ := crypto.NewCaseCode()
						err := wrongCode(hctx, hammerClient, s.url, code.Display())
						if hctx.Err() != nil {
							return
						}
						if err != nil {
							hammerErrs.Add(1)
							once.Do(func() { firstErr = err })
							time.Sleep(10 * time.Millisecond)
							continue
						}
						if counting.Load() {
							attempts.Add(1)
						}
					}
				})
			}
			return func() { cancel(); wg.Wait() }
		}
		var unloaded, loaded []stats
		var cpu cpuUse
		wait := e.profile(s, "5-new-cases-under-login-flood", 2*o.duration+rounds*6*time.Second)
		for r := range rounds + 1 {
			unloaded = append(unloaded, load(ctx, o.clients, warmFor(r), seg, submit))
			if r == rounds {
				break
			}
			var counting atomic.Bool
			stop := hammer(&counting)
			time.Sleep(time.Second) // let the flood fill the login queue
			warm := time.Second
			time.AfterFunc(warm, func() { counting.Store(true) })
			cpu.measure(s, func() { loaded = append(loaded, load(ctx, o.clients, warm, seg, submit)) })
			counting.Store(false)
			stop()
			// Logins in the server's queue finish their derivation and floor.
			time.Sleep(2 * time.Second)
		}
		wait()
		u, l := combine(unloaded), combine(loaded)
		for _, st := range []stats{u, l} {
			if st.err != nil {
				return nil, fmt.Errorf("benchmark 5: %d errors, the first: %w", st.errs, st.err)
			}
		}
		if firstErr != nil {
			return nil, fmt.Errorf("benchmark 5: %d wrong-code requests failed, the first: %w", hammerErrs.Load(), firstErr)
		}
		var base samples
		for _, st := range unloaded {
			base = append(base, st.rate)
		}
		ratio := l.rate / u.rate
		out = append(out, result{
			id:       "5",
			what:     fmt.Sprintf("new cases while %d clients send wrong codes", o.hammer),
			measured: fmt.Sprintf("%.1f /s", l.rate),
			floor:    "unloaded, same server, in turns: " + base.String("/s"),
			ratio:    ratio, target: "≥ 0.8", met: yesNo(ratio >= 0.8),
			notes: []string{fmt.Sprintf("loaded runs %s; wrong codes answered meanwhile: %.1f /s (each takes at least the 1 s login floor); new-case latency p50 %s, p99 %s; %s",
				l.rates(), float64(attempts.Load())/(seg.Seconds()*rounds), ms(l.percentile(0.5)), ms(l.percentile(0.99)), cpu)},
		})
	}
	hwm := s.status("VmHWM")
	if len(out) > 0 {
		out[0].notes = append(out[0].notes, fmt.Sprintf("peak RSS of the default-KDF server over benchmarks %s: %s (each Argon2id derivation holds 64 MiB)",
			benchIDs(out), mib(hwm)))
	}
	return out, nil
}

func benchIDs(rs []result) string {
	var b bytes.Buffer
	for i, r := range rs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.id)
	}
	return b.String()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
