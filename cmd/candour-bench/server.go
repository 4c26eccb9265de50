package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// env is what every benchmark shares: the options, the temporary folder,
// and five post-quantum keys made with `candour keygen`: three for the
// organisation, one for the default channel (see startServer), and one
// standing in for a case's own key where a floor needs it. A report or
// message is so sealed to five post-quantum recipients, as in an
// installation with three organisation keys and a channel key.
type env struct {
	o              options
	dir            string
	recipientsFile string // the organisation's keys
	recipients     *crypto.Recipients
	// channelKey is the default channel's public key, and channel its
	// parsed form.
	channelKey string
	channel    []age.Recipient
	// ageRecipientsFile has all five keys, so that the stock age command
	// encrypts to as many recipients as the server does.
	ageRecipientsFile string
	// pg is the benchmark's own PostgreSQL cluster (bench_pg.go), once
	// started; onPG makes startServer put each new server on a new
	// database of it rather than on SQLite.
	pg   *pgCluster
	onPG bool
}

// orgKeys is how many of the five keys are the organisation's.
const orgKeys = 3

func newEnv(o options, dir string) (*env, error) {
	e := &env{o: o, dir: dir}
	keys := filepath.Join(dir, "keys")
	if err := os.Mkdir(keys, 0o700); err != nil {
		return nil, err
	}
	var pubs []string
	for i := range orgKeys + 2 {
		path := filepath.Join(keys, fmt.Sprintf("key%d.txt", i+1))
		out, err := exec.Command(o.candour, "keygen", "-o", path).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("candour keygen: %v: %s", err, out)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		_, pub, ok := bytes.Cut(b, []byte("# public key: "))
		if !ok {
			return nil, fmt.Errorf("candour keygen wrote no public key line in %s", path)
		}
		pub, _, _ = bytes.Cut(pub, []byte("\n"))
		pubs = append(pubs, string(pub))
	}
	org := strings.Join(pubs[:orgKeys], "\n") + "\n"
	e.recipientsFile = filepath.Join(keys, "recipients.txt")
	if err := os.WriteFile(e.recipientsFile, []byte(org), 0o600); err != nil {
		return nil, err
	}
	e.ageRecipientsFile = filepath.Join(keys, "age-recipients.txt")
	if err := os.WriteFile(e.ageRecipientsFile, []byte(strings.Join(pubs, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	rs, err := crypto.ParseRecipientsString(org)
	if err != nil {
		return nil, err
	}
	if rs.Len() != orgKeys || rs.Kind() != crypto.KindPostQuantum {
		return nil, fmt.Errorf("expected %d post-quantum recipients", orgKeys)
	}
	e.recipients = rs
	e.channelKey = pubs[orgKeys]
	ch, err := crypto.ParseRecipientsString(e.channelKey)
	if err != nil {
		return nil, err
	}
	e.channel = ch.Organisation()
	return e, nil
}

// addChannelKey gives the default channel of a new data folder its first
// key generation, with no member wraps (the channel has no members yet),
// as a caseworker's browser would have made it: reports and messages to
// the channel are then sealed to it too.
func (e *env) addChannelKey(data string) error {
	return e.addChannelKeyTo(func() (*storage.DB, error) { return storage.Open(data) })
}

// addChannelKeyTo is addChannelKey on the database open opens (and
// migrates, as serve would).
func (e *env) addChannelKeyTo(open func() (*storage.DB, error)) error {
	db, err := open()
	if err != nil {
		return err
	}
	if _, err := db.AddChannelKey(context.Background(), storage.DefaultChannel, 0, e.channelKey, nil); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// server is a running `candour serve`.
type server struct {
	cmd  *exec.Cmd
	url  string
	data string
	log  string
	// db is the PostgreSQL database the server runs on (nil on SQLite).
	db      *pgDatabase
	pprof   string // host:port of --pprof-addr, if any
	startup time.Duration
	done    chan error
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer runs `candour serve` on a free loopback port over a fresh
// data folder whose default channel has a key, with the organisation's
// keys and a submission budget
// high enough never to refuse a benchmark's requests, plus extra flags. It
// returns once /healthz answers 200; startup is the time from exec to that
// answer.
//
// With e.onPG, the server runs on a new database of the benchmark's
// PostgreSQL cluster instead (its channel key given the same way), and
// data holds only serve's other files.
func (e *env) startServer(extra ...string) (*server, error) {
	if e.onPG {
		db, err := e.pg.newDatabase()
		if err != nil {
			return nil, err
		}
		if err := e.addChannelKeyPG(db); err != nil {
			db.drop()
			return nil, fmt.Errorf("channel key: %w", err)
		}
		s, err := e.startServerOn(db, extra...)
		if err != nil {
			db.drop()
		}
		return s, err
	}
	return e.startServerOn(nil, extra...)
}

// startServerOn starts a server on db, a PostgreSQL database whose
// default channel has its key already, or, if db is nil, on a new SQLite
// data folder whose channel it gives its key. Two servers started on the
// same db are two instances of one installation.
func (e *env) startServerOn(db *pgDatabase, extra ...string) (*server, error) {
	base, err := os.MkdirTemp(e.dir, "server")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{
		url:  fmt.Sprintf("http://127.0.0.1:%d", port),
		data: filepath.Join(base, "data"),
		log:  filepath.Join(base, "server.log"),
		done: make(chan error, 1),
		db:   db,
	}
	args := []string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data", s.data,
		"--recipients", e.recipientsFile, "--submissions-per-minute", "100000000", "--log-level", "warn"}
	if db == nil {
		if err := e.addChannelKey(s.data); err != nil {
			return nil, fmt.Errorf("channel key: %w", err)
		}
	} else {
		if err := os.Mkdir(s.data, 0o700); err != nil {
			return nil, err
		}
		// The URL without its password, which the server reads from
		// PGPASSWORD, as the operator guide advises (a command line is
		// visible to every user of the machine).
		args = append(args, "--database", db.url)
	}
	if e.o.pprofDir != "" {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		s.pprof = fmt.Sprintf("127.0.0.1:%d", pp)
		args = append(args, "--pprof-addr", s.pprof)
	}
	args = append(args, extra...)
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(e.o.candour, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if db != nil {
		s.cmd.Env = append(os.Environ(), "PGPASSWORD="+db.password)
	}
	// The server dies with this process, whatever happens to it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() { s.done <- s.cmd.Wait(); logFile.Close() }()
	atExit(func() { s.stop() })
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("candour serve exited: %v: %s", err, tail(s.log))
		default:
		}
		if res, err := client.Get(s.url + "/healthz"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				s.startup = time.Since(start)
				break
			}
		}
		if time.Since(start) > 60*time.Second {
			s.stop()
			return nil, fmt.Errorf("candour serve did not become healthy in a minute: %s", tail(s.log))
		}
		time.Sleep(2 * time.Millisecond)
	}
	return s, nil
}

// stop ends the server with SIGTERM (a kill after 15 s) and waits for it.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case err := <-s.done:
		s.done <- err
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		s.done <- <-s.done
	}
}

// remove deletes what s stored (stopped first): its data folder and, on
// PostgreSQL, its database (for a server alone on its database: two
// instances of one are stopped and their database dropped by the caller).
func (s *server) remove() {
	s.stop()
	os.RemoveAll(filepath.Dir(s.data))
	if s.db != nil {
		s.db.drop()
	}
}

// status reads VmHWM (peak RSS) or VmRSS of the server, in kB.
func (s *server) status(field string) int64 {
	kb, err := procField(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid), field)
	if err != nil {
		return -1
	}
	return kb
}

// cpu is the server's CPU time so far (user and system), from
// /proc/PID/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux). On
// PostgreSQL it adds the cluster's (pgCluster.cpu): the database's work is
// the server's too, and the cluster serves nothing else while one server
// is measured.
func (s *server) cpu() time.Duration {
	c := procCPU(s.cmd.Process.Pid, false)
	if s.db != nil {
		c += s.db.cluster.cpu()
	}
	return c
}

// candourCPU is the CPU time of the candour process alone.
func (s *server) candourCPU() time.Duration { return procCPU(s.cmd.Process.Pid, false) }

// procCPU is the CPU time so far of process pid, and with children that of
// its children that it has waited for.
func procCPU(pid int, children bool) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after it. utime and stime are fields 14 and 15 of the line.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0
	}
	ticks := atoi(f[11]) + atoi(f[12])
	if children {
		ticks += atoi(f[13]) + atoi(f[14]) // cutime, cstime
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuUse adds up the CPU used by the server and by this process (the
// clients) over measured runs.
type cpuUse struct {
	server, self, wall time.Duration
	// candour is the candour process's share of server (all of it on
	// SQLite; on PostgreSQL the rest is the cluster's).
	candour time.Duration
}

func (c *cpuUse) measure(s *server, run func()) {
	s0, k0, c0, t0 := s.cpu(), s.candourCPU(), selfCPU(), time.Now()
	run()
	c.wall += time.Since(t0)
	c.server += s.cpu() - s0
	c.candour += s.candourCPU() - k0
	c.self += selfCPU() - c0
}

func (c cpuUse) String() string {
	return fmt.Sprintf("CPU used: server %.2f cores, load generator %.2f cores (of %d)",
		float64(c.server)/float64(c.wall), float64(c.self)/float64(c.wall), runtime.NumCPU())
}

// profile starts a CPU profile of the server for d, if --pprof is set, and
// returns a function that waits for it and saves it as name.
func (e *env) profile(s *server, name string, d time.Duration) func() {
	if s.pprof == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.pprof, int(d.Seconds()))
		ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
		defer cancel()
		e.savePprof(ctx, url, name+".pprof", "profile "+name)
	}()
	return func() { <-done }
}

// saveHeap saves, if --pprof is set, the server's heap profile as
// name-heap.pprof: what was live at the last collection (inuse_space) and
// every allocation since the start (alloc_space), by call site, to see
// where the peak RSS of an upload goes.
func (e *env) saveHeap(s *server, name string) {
	if s.pprof == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.savePprof(ctx, "http://"+s.pprof+"/debug/pprof/heap", name+"-heap.pprof", "heap profile "+name)
}

// savePprof saves what the server's profiler answers at url as file in
// --pprof's folder; a failure is logged as what, and the run goes on.
func (e *env) savePprof(ctx context.Context, url, file, what string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		logf("%s: %v", what, err)
		return
	}
	defer res.Body.Close()
	if err := os.MkdirAll(e.o.pprofDir, 0o755); err != nil {
		logf("%s: %v", what, err)
		return
	}
	f, err := os.Create(filepath.Join(e.o.pprofDir, file))
	if err != nil {
		logf("%s: %v", what, err)
		return
	}
	defer f.Close()
	io.Copy(f, res.Body)
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 20 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
