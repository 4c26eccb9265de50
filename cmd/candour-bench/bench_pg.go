package main

// The PostgreSQL engine (issue 16): the same scenarios as on SQLite, in
// the same run, with the server started with --database postgres://… on
// a throwaway cluster of the benchmark's own (internal/pgtest: Debian's
// PostgreSQL with its default settings, fsync on, listening on a Unix
// socket only, in a directory under --tmp, so on the same disk as the
// SQLite data folders). Every figure that is compared with SQLite's is
// measured in the same rounds as its SQLite counterpart, in turns, so that
// drift of the machine weighs on both alike.
//
// On PostgreSQL a server's CPU is the candour process's plus the
// cluster's (every PostgreSQL process: the backends serving it, the WAL
// writer, the checkpointer, autovacuum): the database's work is part of
// what a request costs, and on this machine it runs on the same two
// cores.

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// pgCluster is the benchmark's PostgreSQL cluster.
type pgCluster struct {
	c   *pgtest.Cluster
	pid int // the postmaster's
}

// startPG starts the cluster in a new directory under parent; it is
// stopped, and its files removed, at exit.
func startPG(parent string) (*pgCluster, error) {
	c, err := pgtest.StartCluster(parent)
	if err != nil {
		return nil, fmt.Errorf("starting PostgreSQL in %s (run as root, the cluster runs as the user postgres, who must be able to enter it: --tmp): %w", parent, err)
	}
	atExit(func() {
		if err := c.Stop(); err != nil {
			logf("PostgreSQL: %v", err)
		}
	})
	pid, err := c.PostmasterPID()
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL's postmaster.pid: %w", err)
	}
	return &pgCluster{c: c, pid: pid}, nil
}

// cpu is the CPU time so far of the whole cluster: the postmaster's, that
// of its children it has reaped (backends of closed connections), and
// that of its living children.
func (p *pgCluster) cpu() time.Duration {
	total := procCPU(p.pid, true)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return total
	}
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if parentPID(pid) == p.pid {
			total += procCPU(pid, false)
		}
	}
	return total
}

// parentPID is the parent of process pid, from /proc/PID/stat (-1 if
// unknown).
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return -1
	}
	return atoi(f[1])
}

// pgDatabase is a database of the cluster, owned by a role of its own.
type pgDatabase struct {
	cluster *pgCluster
	dsn     string // with the password, for this process
	url     string // without it, for a command line
	// password is given to servers as PGPASSWORD.
	password string
	dropOnce sync.Once
	dropFunc func() error
}

// newDatabase creates a fresh database; drop removes it (also at exit).
func (p *pgCluster) newDatabase() (*pgDatabase, error) {
	dsn, drop, err := p.c.CreateDatabase(context.Background())
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	pw, _ := u.User.Password()
	u.User = url.User(u.User.Username())
	d := &pgDatabase{cluster: p, dsn: dsn, url: u.String(), password: pw, dropFunc: drop}
	atExit(d.drop)
	return d, nil
}

func (d *pgDatabase) drop() {
	d.dropOnce.Do(func() {
		if err := d.dropFunc(); err != nil {
			logf("PostgreSQL: %v", err)
		}
	})
}

// addChannelKeyPG is addChannelKey for a PostgreSQL database (made and
// migrated here, as serve would).
func (e *env) addChannelKeyPG(d *pgDatabase) error {
	return e.addChannelKeyTo(func() (*storage.DB, error) { return storage.OpenPostgres(d.dsn) })
}

// comparison is a line of the table of PostgreSQL against SQLite.
type comparison struct {
	id, what     string
	sqlite, pg   string
	ratio        float64 // PostgreSQL ÷ SQLite, of rates (higher is better) or of times
	higherBetter bool
	sameRounds   bool
}

// splitCPU is the CPU of candour processes and of the cluster over
// measured runs.
type splitCPU struct {
	candour, pg, self, wall time.Duration
}

func (c *splitCPU) measure(ss []*server, p *pgCluster, run func()) {
	var c0 time.Duration
	for _, s := range ss {
		c0 += s.candourCPU()
	}
	p0, s0, t0 := p.cpu(), selfCPU(), time.Now()
	run()
	c.wall += time.Since(t0)
	var c1 time.Duration
	for _, s := range ss {
		c1 += s.candourCPU()
	}
	c.candour += c1 - c0
	c.pg += p.cpu() - p0
	c.self += selfCPU() - s0
}

func (c splitCPU) String() string {
	w := float64(c.wall)
	return fmt.Sprintf("CPU used: candour %.2f cores, PostgreSQL %.2f, load generator %.2f (of %d)",
		float64(c.candour)/w, float64(c.pg)/w, float64(c.self)/w, numCPU())
}

// benchPGNewCases is benchmark 1 on PostgreSQL, and benchmark 8: new cases
// with two instances on one PostgreSQL database against one instance. In
// each of three rounds: the Argon2id floor, then the same clients
// submitting to a SQLite server, to one PostgreSQL instance, and to two
// instances of one installation (each client always to the same one:
// half the clients to each); the floor once more at the end. All servers
// run with the default KDF settings and --kdf-concurrency 2.
func benchPGNewCases(e *env) ([]result, []comparison, error) {
	o := e.o
	flags := []string{"--kdf-concurrency", fmt.Sprint(kdfConcurrency)}
	lite, err := e.startServerOn(nil, flags...)
	if err != nil {
		return nil, nil, err
	}
	defer lite.remove()
	db, err := e.pg.newDatabase()
	if err != nil {
		return nil, nil, err
	}
	defer db.drop()
	if err := e.addChannelKeyPG(db); err != nil {
		return nil, nil, fmt.Errorf("channel key: %w", err)
	}
	a, err := e.startServerOn(db, flags...)
	if err != nil {
		return nil, nil, err
	}
	defer a.stop()
	b, err := e.startServerOn(db, flags...)
	if err != nil {
		return nil, nil, err
	}
	defer b.stop()

	ctx := context.Background()
	reportType, reportBody := formBody([2]string{"body", text(textSize)})
	hc := newHTTPClient(o.clients + 4)
	submitTo := func(ss ...*server) func(context.Context, int) error {
		return func(ctx context.Context, w int) error {
			_, err := submitReport(ctx, hc, ss[w%len(ss)].url, reportType, bytes.NewReader(reportBody), int64(len(reportBody)))
			return err
		}
	}
	params, err := crypto.NewKDFParams(crypto.DefaultKDFTime, crypto.DefaultKDFMemoryKiB, crypto.DefaultKDFThreads)
	if err != nil {
		return nil, nil, err
	}
	seg := o.duration / rounds
	warmFor := func(r int) time.Duration {
		if r == 0 {
			return 2 * time.Second
		}
		return time.Second
	}
	logf("1-pg, 8: %d rounds of: floor (%s, %d at a time) for %s, then %d clients submitting new reports for %s each to SQLite, to one PostgreSQL instance, to two instances on one PostgreSQL database",
		rounds, params, kdfConcurrency, o.floorDur, o.clients, seg)
	restore := keepKDFHeap()
	if _, err := kdfFloor(params, kdfConcurrency, o.floorDur); err != nil {
		return nil, nil, err
	}
	var (
		f                       samples
		liteSegs, one, two      []stats
		liteCPU                 cpuUse
		oneCPU, twoCPU          splitCPU
		liteRun, oneRun, twoRun func(r int)
	)
	liteRun = func(r int) {
		liteCPU.measure(lite, func() { liteSegs = append(liteSegs, load(ctx, o.clients, warmFor(r), seg, submitTo(lite))) })
	}
	oneRun = func(r int) {
		oneCPU.measure([]*server{a}, e.pg, func() { one = append(one, load(ctx, o.clients, warmFor(r), seg, submitTo(a))) })
	}
	twoRun = func(r int) {
		twoCPU.measure([]*server{a, b}, e.pg, func() { two = append(two, load(ctx, o.clients, warmFor(r), seg, submitTo(a, b))) })
	}
	for r := range rounds + 1 {
		x, err := kdfFloor(params, kdfConcurrency, o.floorDur)
		if err != nil {
			return nil, nil, err
		}
		f = append(f, x)
		if r == rounds {
			break
		}
		liteRun(r)
		oneRun(r)
		twoRun(r)
	}
	restore()
	ls, os1, os2 := combine(liteSegs), combine(one), combine(two)
	for _, st := range []stats{ls, os1, os2} {
		if st.err != nil {
			return nil, nil, fmt.Errorf("benchmark 1-pg/8: %d errors, the first: %w", st.errs, st.err)
		}
	}
	ratio := os1.median() / f.median()
	floor := fmt.Sprintf("Argon2id %s, %d at a time: %s", params, kdfConcurrency, f.String("/s"))
	rs := []result{{
		id:       "1-pg",
		what:     "new cases over HTTP, **PostgreSQL**, one instance (as 1)",
		measured: os1.String("/s"),
		floor:    floor,
		ratio:    ratio, target: "≥ 0.9", met: yesNo(ratio >= 0.9),
		notes: []string{
			fmt.Sprintf("%d clients; runs %s; latency p50 %s, p99 %s; %d cases; %s",
				o.clients, os1.rates(), ms(os1.percentile(0.5)), ms(os1.percentile(0.99)), os1.n, oneCPU),
			fmt.Sprintf("SQLite in the same rounds: %s, ratio to the floor %.2f, latency p50 %s, p99 %s; %s",
				ls.String("/s"), ls.median()/f.median(), ms(ls.percentile(0.5)), ms(ls.percentile(0.99)), liteCPU),
		},
	}, {
		id:       "8",
		what:     "new cases over HTTP, **two instances** on one PostgreSQL database, half the clients to each",
		measured: os2.String("/s"),
		floor:    "one instance, same rounds: " + os1.String("/s"),
		ratio:    os2.median() / os1.median(),
		notes: []string{
			fmt.Sprintf("%d clients (%d to each instance); runs %s; latency p50 %s, p99 %s; %d cases; %s; ratio to the Argon2id floor %.2f",
				o.clients, o.clients/2, os2.rates(), ms(os2.percentile(0.5)), ms(os2.percentile(0.99)), os2.n, twoCPU, os2.median()/f.median()),
			fmt.Sprintf("both instances, the database and the load generator share this machine's %d cores: each instance derives %d at a time, so two derive %d at a time on the same cores",
				numCPU(), kdfConcurrency, 2*kdfConcurrency),
		},
	}}
	cs := []comparison{{
		id: "1", what: "new cases a second (one instance)", sqlite: ls.String("/s"), pg: os1.String("/s"),
		ratio: os1.median() / ls.median(), higherBetter: true, sameRounds: true,
	}, {
		id: "8", what: "new cases a second, two PostgreSQL instances (against SQLite's one)", sqlite: ls.String("/s"), pg: os2.String("/s"),
		ratio: os2.median() / ls.median(), higherBetter: true, sameRounds: true,
	}}
	return rs, cs, nil
}

// benchPGMessages is benchmark 2 on PostgreSQL: follow-up messages in one
// reporter session, against the same floor as 2 done on a fresh database
// of the cluster (seal on every processor, storage.AddMessage from as many
// writers as clients, grouped commits), in rounds of: the floor, the same
// clients on a SQLite server, on a PostgreSQL server; the floor once more.
func benchPGMessages(e *env) ([]result, []comparison, error) {
	o := e.o
	ctx := context.Background()
	body := text(textSize)
	hc := newHTTPClient(o.msgConns + 4)
	type target struct {
		s    *server
		send func(context.Context, int) error
	}
	open := func(db *pgDatabase) (*target, error) {
		s, err := e.startServerOn(db, "--kdf-concurrency", fmt.Sprint(kdfConcurrency))
		if err != nil {
			return nil, err
		}
		ct, b := formBody([2]string{"body", body})
		code, err := submitReport(ctx, hc, s.url, ct, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			s.stop()
			return nil, err
		}
		session, err := followupLogin(ctx, hc, s.url, code)
		if err != nil {
			s.stop()
			return nil, err
		}
		csrf, err := caseCSRF(ctx, hc, s.url, session)
		if err != nil {
			s.stop()
			return nil, err
		}
		msgType, msgBody := formBody([2]string{"csrf", csrf}, [2]string{"body", body})
		return &target{s: s, send: func(ctx context.Context, _ int) error {
			return sendMessage(ctx, hc, s.url, session, msgType, msgBody)
		}}, nil
	}
	lite, err := open(nil)
	if err != nil {
		return nil, nil, err
	}
	defer lite.s.remove()
	db, err := e.pg.newDatabase()
	if err != nil {
		return nil, nil, err
	}
	defer db.drop()
	if err := e.addChannelKeyPG(db); err != nil {
		return nil, nil, err
	}
	pg, err := open(db)
	if err != nil {
		return nil, nil, err
	}
	defer pg.s.stop()

	seg := o.duration / rounds
	warmFor := func(r int) time.Duration {
		if r == 0 {
			return 2 * time.Second
		}
		return time.Second
	}
	floor := func() (float64, time.Duration, error) {
		fdb, err := e.pg.newDatabase()
		if err != nil {
			return 0, 0, err
		}
		defer fdb.drop()
		sdb, err := storage.OpenPostgres(fdb.dsn)
		if err != nil {
			return 0, 0, err
		}
		defer sdb.Close()
		cpu := func() time.Duration { return selfCPU() + e.pg.cpu() }
		return sealCommitOn(sdb, cpu, e.recipients, e.channel, body, o.msgConns, o.floorDur)
	}
	logf("2-pg: %d rounds of: floor on PostgreSQL (seal on every processor + grouped durable commits from %d writers) for %s, then %d clients sending follow-up messages in one session for %s to SQLite, then to PostgreSQL",
		rounds, o.msgConns, o.floorDur, o.msgConns, seg)
	var (
		f          samples
		floorCPU   time.Duration
		lsegs, pgs []stats
		liteCPU    cpuUse
		pgCPU      splitCPU
	)
	for r := range rounds + 1 {
		x, c, err := floor()
		if err != nil {
			return nil, nil, err
		}
		f = append(f, x)
		floorCPU += c / (rounds + 1)
		if r == rounds {
			break
		}
		liteCPU.measure(lite.s, func() { lsegs = append(lsegs, load(ctx, o.msgConns, warmFor(r), seg, lite.send)) })
		pgCPU.measure([]*server{pg.s}, e.pg, func() { pgs = append(pgs, load(ctx, o.msgConns, warmFor(r), seg, pg.send)) })
	}
	ls, ps := combine(lsegs), combine(pgs)
	for _, st := range []stats{ls, ps} {
		if st.err != nil {
			return nil, nil, fmt.Errorf("benchmark 2-pg: %d errors, the first: %w", st.errs, st.err)
		}
	}
	ratio := ps.median() / f.median()
	perMsg := func(c time.Duration, wall time.Duration, rate float64) float64 {
		return float64(c) / float64(wall) / rate * 1e3 // ms
	}
	r := result{
		id:       "2-pg",
		what:     "follow-up messages in one reporter session, **PostgreSQL** (as 2)",
		measured: ps.String("/s"),
		floor:    fmt.Sprintf("in process, age seal on every processor + durable commits grouped as the server's, %d writers, on a fresh PostgreSQL database: ", o.msgConns) + f.String("/s"),
		ratio:    ratio, target: "≥ 0.5, and ≥ 1,500 /s in each run", met: yesNo(ratio >= 0.5 && ps.min() >= 1500),
		notes: []string{
			fmt.Sprintf("%d clients, one session; runs %s; latency p50 %s, p99 %s; %d messages; %s",
				o.msgConns, ps.rates(), ms(ps.percentile(0.5)), ms(ps.percentile(0.99)), ps.n, pgCPU),
			fmt.Sprintf("processor time per message: candour %.2f ms + PostgreSQL %.2f ms; floor %.2f ms (this process and the cluster)",
				perMsg(pgCPU.candour, pgCPU.wall, ps.rate), perMsg(pgCPU.pg, pgCPU.wall, ps.rate), float64(floorCPU)/1e6),
			fmt.Sprintf("SQLite in the same rounds: %s; latency p50 %s, p99 %s; processor time per message %.2f ms; %s",
				ls.String("/s"), ms(ls.percentile(0.5)), ms(ls.percentile(0.99)), perMsg(liteCPU.server, liteCPU.wall, ls.rate), liteCPU),
		},
	}
	cs := []comparison{{
		id: "2", what: "follow-up messages a second, one session", sqlite: ls.String("/s"), pg: ps.String("/s"),
		ratio: ps.median() / ls.median(), higherBetter: true, sameRounds: true,
	}}
	return []result{r}, cs, nil
}

// benchPGUpload is benchmark 3 on PostgreSQL: the same rounds, floors and
// figures, each server on a new database of the cluster (dropped after
// it). Its server CPU (3d) is the candour process's and the cluster's.
func benchPGUpload(e *env) ([]result, error) {
	pe := *e
	pe.onPG = true
	rs, err := benchUpload(&pe)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		rs[i].id += "-pg"
		rs[i].what += ", **PostgreSQL**"
	}
	return rs, nil
}

// uploadComparisons compares 3a and 3d with their PostgreSQL lines, when
// both ran: not in the same rounds (benchmark 3 on SQLite ran before), so
// the ratios to the floors, each measured in its own rounds, are given too.
func uploadComparisons(results []result) []comparison {
	by := map[string]result{}
	for _, r := range results {
		by[r.id] = r
	}
	var cs []comparison
	for _, p := range []struct{ id, what string }{
		{"3a", "1 GiB upload with a new report, MB/s (ratio to the durable floor in brackets)"},
		{"3d", "server CPU per GiB of attachment, net (PostgreSQL: candour + cluster; ratio age ÷ it in brackets)"},
	} {
		l, ok1 := by[p.id]
		g, ok2 := by[p.id+"-pg"]
		if !ok1 || !ok2 || l.value <= 0 || g.value <= 0 {
			continue
		}
		cs = append(cs, comparison{
			id: p.id, what: p.what,
			sqlite:       fmt.Sprintf("%s (%.2f)", firstPart(l.measured), l.ratio),
			pg:           fmt.Sprintf("%s (%.2f)", firstPart(g.measured), g.ratio),
			ratio:        g.value / l.value,
			higherBetter: p.id == "3a",
		})
	}
	return cs
}

// firstPart is a measured figure without what follows it in brackets.
func firstPart(s string) string {
	s, _, _ = strings.Cut(s, " (")
	return s
}

// pgTmp is where the cluster goes: beside the benchmark's temporary
// folder, under --tmp, so on the same disk as the SQLite data folders (the
// folder itself is private to this process's user, and the cluster runs
// as postgres when this runs as root).
func pgTmp(dir string) string { return filepath.Dir(dir) }
