package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
	"github.com/candour/candour/metadata"
	"github.com/candour/candour/server"
)

// errNoConsole refuses to serve from a binary whose staff console could not
// decrypt anything: a plain `go build` embeds whatever frontend/static holds,
// and the bundle is built by npm, not committed.
var errNoConsole = errors.New("this binary was built without the staff console's decryption script (frontend/static/staff.js), " +
	"so caseworkers could not read any report. Build with `make build` (or run `npm run build` before `go build`). " +
	"To start anyway, for reporters only, give --allow-missing-console")

// sizeHelp ends the help of every size flag.
const sizeHelp = "; a whole number with an optional unit K, M or G (or KiB, MiB, GiB): all 1,024-based, so 2M is 2 MiB"

func runServe(args []string, stderr io.Writer) error {
	fs := newFlags("serve", "serve [flags]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	dbFlags := addDatabaseFlags(fs, "keep the database in `DIR` (with --database on PostgreSQL, only the onion service's key)")
	data := dbFlags.data
	recipientsFile := fs.String("recipients", "", "the organisation's age recipients `FILE` (one public key per line); "+
		"if empty, a DEMO key pair is generated in --demo-keys")
	demoKeys := fs.String("demo-keys", "demo-keys", "where a DEMO key pair is kept when no --recipients is given (`DIR`)")
	org := fs.String("org-name", "", "the organisation shown to reporters as running the service")
	publicURL := fs.String("public-url", "", "the `URL` staff reach the service at, for enrolment links (default: the request's host)")
	onion := fs.String("onion-address", "", "advertise this v3 onion `ADDRESS` in an Onion-Location header")
	https := fs.Bool("https", false, "the service is reached over HTTPS (directly or via a proxy): Secure cookies and HSTS")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS directly with this certificate chain `FILE` (PEM; re-read when it changes); implies --https")
	tlsKey := fs.String("tls-key", "", "the private key `FILE` (PEM) for --tls-cert")
	torControl := fs.String("tor-control", "", "publish Candour as a v3 onion service through the control port of a local tor at `HOST:PORT` (cookie or password authentication); sets --onion-address")
	torPassword := fs.String("tor-control-password", "", "the password for --tor-control, if tor uses HashedControlPassword")
	onionKey := fs.String("onion-key", "", "where the onion service's key is kept, so its address survives restarts (`FILE`, default DATA/onion-v3.key)")
	maxUpload := sizeFlag(server.DefaultMaxUploadBytes)
	fs.Var(&maxUpload, "max-upload", "largest submission, all files included, in `BYTES`"+sizeHelp)
	maxFile := sizeFlag(server.DefaultMaxFileBytes)
	fs.Var(&maxFile, "max-file", "largest single file in `BYTES`"+sizeHelp)
	maxFiles := fs.Int("max-files", server.DefaultMaxFiles, "most files per submission")
	perMinute := fs.Int("submissions-per-minute", 60, "global budget of new reports and messages (up to a minute's worth may come at once)")
	maxText := countFlag{sizeFlag(server.DefaultMaxTextChars)}
	fs.Var(&maxText, "max-text", "longest message text, a count of `CHARACTERS`; a whole number with an optional unit K or M (or KiB, MiB): 1,024-based, so 5K is 5,120 characters")
	kdfTime := fs.Uint("kdf-time", crypto.DefaultKDFTime, "Argon2id passes for case codes")
	kdfMem := fs.Uint("kdf-memory-mib", crypto.DefaultKDFMemoryKiB/1024, "Argon2id memory for case codes, in MiB")
	kdfThreads := fs.Uint("kdf-threads", crypto.DefaultKDFThreads, "Argon2id lanes for case codes")
	kdfConc := fs.Int("kdf-concurrency", 2, "most Argon2id derivations at once (bounds their memory)")
	loginFloor := fs.Duration("login-floor", time.Second, "least time a follow-up login takes, right or wrong")
	headerTimeout := fs.Duration("header-timeout", 20*time.Second, "longest time to receive a request's headers, and the whole of any request that is not an upload")
	readTimeout := fs.Duration("read-timeout", time.Hour, "longest time to receive one upload")
	bodyIdle := fs.Duration("body-idle-timeout", time.Minute, "an upload that sends nothing for this long is dropped; after this long waiting, it must also average --min-upload-rate")
	minRate := fs.Int64("min-upload-rate", 1<<10, "least average upload speed in `BYTES` a second (a trickle meant to hold the server's upload slots is dropped)")
	writeTimeout := fs.Duration("write-timeout", 10*time.Minute, "longest time to send one response (a large download included)")
	maxClean := sizeFlag(32 << 20)
	fs.Var(&maxClean, "max-clean", "largest PDF, Office, WebP or HEIC file in `BYTES` whose hidden data is removed (they are cleaned in memory); larger ones are stored as sent, and the reporter is told"+sizeHelp)
	cleanMemory := sizeFlag(metadata.DefaultMemoryBudget)
	fs.Var(&cleanMemory, "clean-memory", "memory in `BYTES` that the processes cleaning PDF, Office, WebP and HEIC files may take together; each gets a hard limit of 128 MiB + 48 × its file's size (at most all of it) and waits for room"+sizeHelp)
	cleanCPU := fs.Duration("clean-cpu", metadata.DefaultCleanCPU, "processor time one file's cleaning process may take before it is killed and the file refused")
	cleanTimeout := fs.Duration("clean-timeout", metadata.DefaultCleanWall, "time from start to end one file's cleaning process may take before it is killed and the file refused")
	cleanWait := fs.Duration("clean-wait", metadata.DefaultCleanQueue, "time a file may wait for room in --clean-memory before the reporter is told the service is busy (nothing is saved)")
	auditNetwork := fs.Bool("audit-staff-network", false, "record the client address in staff login audit entries (off: the audit trail holds no network data)")
	employerNets := fs.String("employer-networks", "", "comma-separated `CIDRs` (e.g. a police force's ranges) whose visitors see a warning before the form; never logged")
	clientIPHeader := fs.String("client-ip-header", "", "header in which a reverse proxy on this machine passes the client address (e.g. X-Forwarded-For), used only for --employer-networks")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	allowNoConsole := fs.Bool("allow-missing-console", false, "start even though this binary was built without the staff console's script (staff.js), so caseworkers cannot decrypt anything in the browser; every staff page then says so")
	metricsAddr := fs.String("metrics-addr", "", "serve counts of refused reporter requests, by kind, at /metrics on this loopback `HOST:PORT` (off by default; they move only at each --refusal-interval boundary, in steps of five)")
	refusalInterval := fs.Duration("refusal-interval", time.Hour, "how often counts of refused reporter requests are logged and published on --metrics-addr (at least 1h: shorter would tie reporters' refusals to shorter windows of time)")
	smtpHost := fs.String("smtp-host", "", "mail content-free notifications to the staff who opt in, through the mail server at `HOST` (off if empty; needs --public-url and --smtp-from)")
	smtpPort := fs.Int("smtp-port", 0, "the mail server's `PORT` (default 587, or 465 with --smtp-tls implicit)")
	smtpTLS := fs.String("smtp-tls", server.SMTPStartTLS, "how the connection to the mail server is secured: starttls (required: never falls back to plain), implicit (TLS from the first byte) or none (plain, for a mail server on this machine)")
	smtpUser := fs.String("smtp-user", "", "the `NAME` to log in to the mail server with (AUTH PLAIN, sent only over TLS or to localhost)")
	smtpPasswordFile := fs.String("smtp-password-file", "", "a `FILE` whose first line is the mail server password for --smtp-user")
	smtpFrom := fs.String("smtp-from", "", "the sender `ADDRESS` of notifications, bare (e.g. candour@watchdog.example)")
	notifyInterval := fs.Duration("notify-interval", time.Hour, "notifications are sent at most once each interval, at its boundaries on the clock (on the hour for 1h), never when a reporter acts (at least 1h: shorter would tie a mail to a shorter window of a reporter's activity)")
	pprofAddr := fs.String("pprof-addr", "", "for benchmarking only: serve Go's profiler on this loopback `HOST:PORT` (off by default; needs a build with -tags pprof)")
	if err := parseFlags(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	dbWhere, err := dbFlags.resolve()
	if err != nil {
		return err
	}
	if *refusalInterval < time.Hour {
		return fmt.Errorf("--refusal-interval %s is too short: counts of refused reporter requests published more often than hourly would say when reporters were refused", *refusalInterval)
	}
	if *notifyInterval < time.Hour {
		return fmt.Errorf("--notify-interval %s is too short: notifications sent more often than hourly would say when reporters acted", *notifyInterval)
	}
	smtp := server.SMTPConfig{Host: *smtpHost, Port: *smtpPort, TLS: *smtpTLS, Username: *smtpUser, From: *smtpFrom}
	if *smtpPasswordFile != "" {
		b, err := os.ReadFile(*smtpPasswordFile)
		if err != nil {
			return fmt.Errorf("failed to read --smtp-password-file: %w", err)
		}
		smtp.Password, _, _ = strings.Cut(string(b), "\n")
		smtp.Password = strings.TrimSuffix(smtp.Password, "\r")
	}
	if !frontend.ConsolePresent() && !*allowNoConsole {
		return errNoConsole
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if *tlsCert != "" && *torControl != "" {
		// tor hands the onion service's plain HTTP to the listener: it
		// cannot be the TLS one. Terminate TLS in a proxy instead.
		return errors.New("--tor-control cannot be combined with --tls-cert: tor sends plain HTTP to Candour; put TLS in a reverse proxy")
	}
	var certs *certReloader
	if *tlsCert != "" {
		var err error
		if certs, err = newCertReloader(*tlsCert, *tlsKey); err != nil {
			return err
		}
		*https = true
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level: %v", err)
	}
	var nets []netip.Prefix
	for _, c := range strings.FieldsFunc(*employerNets, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("invalid --employer-networks entry %q: %v", c, err)
		}
		nets = append(nets, p.Masked())
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !frontend.ConsolePresent() {
		log.Error("STAFF CONSOLE MISSING: this binary was built without the staff console's script (staff.js), and --allow-missing-console was given. " +
			"Caseworkers cannot decrypt reports in the browser; every staff page says so. Rebuild with `make build` (or `npm run build` before `go build`).")
	}
	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr, log); err != nil {
			return err
		}
	}
	var metricsLn net.Listener
	if *metricsAddr != "" {
		ln, err := listenMetrics(*metricsAddr)
		if err != nil {
			return err
		}
		metricsLn = ln
		defer metricsLn.Close()
	}

	demo := false
	if *recipientsFile == "" {
		path, err := ensureDemoKeys(*demoKeys)
		if err != nil {
			return fmt.Errorf("failed to make demo keys: %w", err)
		}
		*recipientsFile, demo = path, true
		abs, _ := filepath.Abs(*demoKeys)
		log.Warn("DEMO MODE: no --recipients given, so reports are encrypted to a demo key pair whose secret key is on this machine. "+
			"Use it only to try Candour; never for real reports.", "demo_keys", abs,
			"identity", filepath.Join(abs, demoIdentityFile))
		if *org == "" {
			*org = "Demo Watchdog"
		}
	}
	f, err := os.Open(*recipientsFile)
	if err != nil {
		return fmt.Errorf("failed to open recipients: %w", err)
	}
	recipients, err := crypto.ParseRecipients(f)
	f.Close()
	if err != nil {
		return err
	}

	db, err := openServer(dbWhere)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkPostgresPrivacy(db, log); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http://"
	if certs != nil {
		ln, scheme = tls.NewListener(ln, tlsConfig(certs)), "https://"
	}
	// Behind --tor-control, tor sends the onion service's port 80 here.
	if *torControl != "" {
		if *onionKey == "" {
			*onionKey = filepath.Join(*data, "onion-v3.key")
			// On SQLite, storage.Open made the folder; on PostgreSQL the
			// key may be all it holds.
			if err := os.MkdirAll(*data, 0o700); err != nil {
				ln.Close()
				return fmt.Errorf("failed to create data folder: %w", err)
			}
		}
		target := ln.Addr().(*net.TCPAddr)
		if target.IP.IsUnspecified() {
			target = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: target.Port}
		}
		svc, err := startOnion(*torControl, *torPassword, *onionKey, target.String(), log)
		if err != nil {
			ln.Close()
			return err
		}
		defer svc.Close()
		*onion = svc.Address
		log.Info("onion service published through tor's control port", "onion", svc.Address)
	}
	cfg := server.Config{
		OrgName:              *org,
		Recipients:           recipients,
		KDF:                  crypto.KDFParams{Time: uint32(*kdfTime), MemoryKiB: uint32(*kdfMem) * 1024, Threads: uint8(*kdfThreads)},
		KDFConcurrency:       *kdfConc,
		LoginFloor:           *loginFloor,
		MaxUploadBytes:       int64(maxUpload),
		MaxFileBytes:         int64(maxFile),
		MaxFiles:             *maxFiles,
		MaxTextChars:         int(maxText.sizeFlag),
		SubmissionsPerMinute: *perMinute,
		HTTPS:                *https,
		OnionAddress:         *onion,
		EmployerNetworks:     nets,
		ClientIPHeader:       *clientIPHeader,
		PublicURL:            *publicURL,
		Demo:                 demo,
		ReadTimeout:          *readTimeout,
		HeaderTimeout:        *headerTimeout,
		BodyIdleTimeout:      *bodyIdle,
		MinUploadRate:        *minRate,
		WriteTimeout:         *writeTimeout,
		MaxCleanBytes:        int64(maxClean),
		CleanMemory:          int64(cleanMemory),
		CleanCPU:             *cleanCPU,
		CleanTimeout:         *cleanTimeout,
		CleanWait:            *cleanWait,
		AuditStaffNetwork:    *auditNetwork,
		RefusalLogInterval:   *refusalInterval,
		SMTP:                 smtp,
		NotifyInterval:       *notifyInterval,
		Logger:               log,
	}
	setMemoryLimit(cfg, log)
	srv, err := server.New(cfg, db)
	if err != nil {
		return err
	}
	if metricsLn != nil {
		defer serveMetrics(metricsLn, srv.MetricsHandler(), log)()
	}
	if smtp.Enabled() {
		log.Info("notifications are on", "smtp", smtp.Host, "tls", *smtpTLS, "interval", notifyInterval.String())
		if ip := net.ParseIP(smtp.Host); *smtpTLS == server.SMTPTLSNone && smtp.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			log.Warn("--smtp-tls none sends notifications and staff addresses in clear to a mail server on another machine; use starttls or implicit")
		}
	}
	where := []any{"url", scheme + ln.Addr().String(), "data", *data}
	if dbWhere.postgres() {
		// Its address without the password.
		where = append(where, "database", dbWhere.String())
	}
	log.Info("candour is listening", append(where, "recipients", recipients.Len(), "kind", recipients.Kind().String())...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		// Stop the background work (retention, sweeps) before the
		// database closes.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// setMemoryLimit gives the Go runtime the soft memory limit that cfg calls
// for (server.Config.MemoryLimit: the Argon2id pool's memory, one
// derivation's garbage and a base), unless the operator set GOMEMLIMIT,
// which the runtime has read already and which is left as it is. Without
// a limit the collector lets as much garbage as live heap pile up, and
// each derivation leaves 64 MiB of it.
//
// Under that limit of its own it also paces the collector at
// server.GCPercent rather than the runtime's 100, unless the operator set
// GOGC: the limit, not the pacing, is then what bounds the heap. With an
// operator's GOMEMLIMIT the pacing stays the runtime's (or GOGC's), since
// nothing says that limit is low enough to bound a heap paced so loosely.
func setMemoryLimit(cfg server.Config, log *slog.Logger) {
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		log.Info("memory limit set by GOMEMLIMIT", "limit", v)
		return
	}
	limit := cfg.MemoryLimit()
	debug.SetMemoryLimit(limit)
	log.Info("memory limit derived from the configuration (set GOMEMLIMIT to choose another)",
		"limit_mib", limit>>20)
	if v, ok := os.LookupEnv("GOGC"); ok {
		log.Info("collector pacing set by GOGC", "gogc", v)
		return
	}
	debug.SetGCPercent(server.GCPercent)
	log.Info("collector pacing raised under the memory limit (set GOGC to choose another)",
		"gc_percent", server.GCPercent)
}

const (
	demoIdentityFile   = "DEMO-identity.txt"
	demoRecipientsFile = "DEMO-recipients.txt"
)

// ensureDemoKeys makes (once) a clearly labelled demo key pair and returns
// the recipients file.
func ensureDemoKeys(dir string) (string, error) {
	rpath := filepath.Join(dir, demoRecipientsFile)
	if _, err := os.Stat(rpath); err == nil {
		return rpath, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	secret, public, err := generateIdentity(false)
	if err != nil {
		return "", err
	}
	const warning = "# DEMO KEY for trying Candour only. It was generated by `candour serve` because no\n" +
		"# --recipients file was given. Anyone who has this file can read every report sent\n" +
		"# to a server running on the demo keys. Never use it for real reports.\n"
	if err := writeNewFile(filepath.Join(dir, demoIdentityFile), []byte(identityFile(secret, public, warning))); err != nil {
		return "", err
	}
	if err := writeNewFile(rpath, []byte(warning+public+"\n")); err != nil {
		return "", err
	}
	return rpath, nil
}
