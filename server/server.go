// Package server is Candour's HTTP service: the reporter portal (no
// JavaScript, no cookies before a follow-up login) and the staff console,
// built on Fiber.
//
// The whole route table is in routes.go. The reporter pages and the staff
// console (/staff) are route groups, each with its own middleware (area.go:
// content security policy, language); /static and /healthz belong to
// neither. Each handler has a file of its own named noun_verb
// (followup_check.go, staff_case_show.go), and its doc comment names its
// route, so that grepping "POST /followup" finds it (routes_doc_test.go
// checks both against routes.go). Shared pieces live in
// files named by concept: headers.go (security headers, request body
// framing), errors.go and staff_error.go (the one place errors become
// pages), cookie.go, form.go, audit.go, background.go, notify.go (the
// content-free notification mails and their fixed schedule).
//
// The server encrypts, then stores: every report, message and attachment is
// streamed through age to the organisation's recipients (and the case's own)
// before a byte reaches storage. It holds no key that decrypts reports; the
// only secret it ever sees is a case identity, unwrapped in memory for the
// length of a reporter's follow-up session.
package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/frontend"
	"github.com/candour/candour/metadata"
	"github.com/candour/candour/storage"
)

// Config is the server's configuration. Zero values take the defaults below.
type Config struct {
	// OrgName is shown to reporters as who runs the service.
	OrgName string
	// Recipients are the organisation's age public keys.
	Recipients *crypto.Recipients
	// KDF is the Argon2id cost for new case codes (its salt is ignored: the
	// stored one is used).
	KDF crypto.KDFParams
	// KDFConcurrency bounds simultaneous Argon2id derivations of case
	// codes, for logins and new reports together (new reports first), and
	// so their memory: KDFConcurrency × KDF.MemoryKiB.
	KDFConcurrency int
	// LoginFloor is the least time a follow-up login takes, right or wrong,
	// so that timing says nothing about why a code was refused.
	LoginFloor time.Duration

	// Upload limits, enforced while streaming.
	MaxUploadBytes int64 // whole request
	MaxFileBytes   int64 // one attachment
	MaxFiles       int   // attachments per submission
	MaxTextChars   int   // the text of one message, in characters (not bytes)
	// SubmissionsPerMinute is a global budget of new reports and messages.
	// Behind Tor every reporter is 127.0.0.1, so no per-address limit can
	// work; a global one keeps a flood from filling the disk.
	SubmissionsPerMinute int
	// MaxConcurrentUploads bounds uploads in progress; more wait, then are
	// told to try again.
	MaxConcurrentUploads int

	// Follow-up sessions: idle timeout and absolute lifetime.
	SessionIdle time.Duration
	SessionMax  time.Duration

	// HTTPS marks the service as reached over TLS (directly or through a
	// proxy): cookies become Secure and HSTS is sent.
	HTTPS bool
	// OnionAddress, if set (e.g. "abc…xyz.onion"), is advertised in an
	// Onion-Location header.
	OnionAddress string
	// PublicURL is the address staff use (e.g. "https://report.example.org"),
	// for enrolment links; without it the request's own host is used.
	PublicURL string
	// EmployerNetworks are address ranges (a police force's, say) from which
	// a reporter sees a prominent warning before the form. ClientIPHeader
	// names the header a local reverse proxy puts the client address in.
	EmployerNetworks []netip.Prefix
	ClientIPHeader   string
	// Demo marks an installation running on generated demo keys; every page
	// says so.
	Demo bool

	// Timeouts against slow and stalled clients. HeaderTimeout bounds the
	// request line and headers, and the whole of any request that is not a
	// multipart upload. An upload may take up to ReadTimeout in all (a large
	// file over Tor needs a long one), but is dropped if no byte arrives for
	// BodyIdleTimeout or if, after that long, it has averaged less than
	// MinUploadRate bytes a second (a trickle meant to hold a slot).
	// WriteTimeout bounds sending one response; IdleTimeout a kept-alive
	// connection waiting for its next request.
	HeaderTimeout   time.Duration
	ReadTimeout     time.Duration
	BodyIdleTimeout time.Duration
	MinUploadRate   int64
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration

	// MaxCleanBytes is the largest PDF, Office document, WebP or HEIF file
	// whose metadata is removed (they are cleaned in memory); larger ones
	// are stored as sent and the reporter is told. JPEG and PNG are
	// cleaned as they stream, whatever their size.
	MaxCleanBytes int64
	// CleanMemory bounds the memory of all the processes that clean
	// read-whole files at once (metadata.Isolation.MemoryBudget);
	// CleanCPU and CleanTimeout bound one file's processor time and
	// time from start to end; CleanWait how long a file waits for room in
	// CleanMemory before the reporter is told the service is busy. Zero
	// means the metadata package's default.
	CleanMemory  int64
	CleanCPU     time.Duration
	CleanTimeout time.Duration
	CleanWait    time.Duration
	// CleanerPath is the executable started to clean one file; empty
	// means this one (candour serve), which must then call
	// metadata.RunCleanerProcessIfAsked first thing in main.
	CleanerPath string

	// RefusalLogInterval is how often the counts of refused reporter
	// requests are taken, logged (if any grew) and published on
	// MetricsHandler (refusals.go): one hour by default. Shorter intervals
	// tie reporters' refusals to shorter windows of time; candour serve
	// refuses less than an hour, tests may set less.
	RefusalLogInterval time.Duration

	// AuditStaffNetwork records the client address in staff login audit
	// entries. Off by default: the operator opts in.
	AuditStaffNetwork bool

	// SMTP is the mail server for content-free notifications (notify.go);
	// without a Host they are off. NotifyInterval is how often they are
	// sent, at most: at each multiple of it on the clock (on the hour by
	// default), never when a reporter acts. SMTPRootCAs, if set, replaces
	// the system's certificate authorities for the mail server's TLS.
	SMTP           SMTPConfig
	NotifyInterval time.Duration
	SMTPRootCAs    *x509.CertPool
	// NotifyByHand starts no notification loop: only calls to
	// SendNotifications send, so that a test decides when a boundary is.
	NotifyByHand bool

	// Logger receives operational events. It never receives report content,
	// case codes, keys, or any reporter's network data.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultMaxUploadBytes = 2 << 30 // 2 GiB
	DefaultMaxFileBytes   = 1 << 30 // 1 GiB
	DefaultMaxFiles       = 20
	DefaultMaxTextChars   = 200000
	// MaxTextChars is the largest MaxTextChars allowed.
	MaxTextChars = 512 << 10
)

func (c *Config) setDefaults() {
	if c.OrgName == "" {
		c.OrgName = "the watchdog"
	}
	if c.KDF.Time == 0 {
		c.KDF = crypto.KDFParams{Time: crypto.DefaultKDFTime, MemoryKiB: crypto.DefaultKDFMemoryKiB, Threads: crypto.DefaultKDFThreads}
	}
	if c.KDFConcurrency <= 0 {
		c.KDFConcurrency = 2
	}
	if c.LoginFloor == 0 {
		c.LoginFloor = time.Second
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.MaxFiles <= 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	if c.MaxTextChars <= 0 {
		c.MaxTextChars = DefaultMaxTextChars
	}
	if c.SubmissionsPerMinute <= 0 {
		c.SubmissionsPerMinute = 60
	}
	if c.MaxConcurrentUploads <= 0 {
		c.MaxConcurrentUploads = 16
	}
	if c.SessionIdle <= 0 {
		c.SessionIdle = 15 * time.Minute
	}
	if c.SessionMax <= 0 {
		c.SessionMax = time.Hour
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = 20 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = time.Hour
	}
	if c.BodyIdleTimeout <= 0 {
		c.BodyIdleTimeout = time.Minute
	}
	if c.MinUploadRate <= 0 {
		c.MinUploadRate = 1 << 10
	}
	if c.MaxCleanBytes <= 0 {
		c.MaxCleanBytes = metadata.DefaultMaxBuffered
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Minute
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.RefusalLogInterval <= 0 {
		c.RefusalLogInterval = time.Hour
	}
	if c.NotifyInterval <= 0 {
		c.NotifyInterval = time.Hour
	}
	if c.SMTP.Enabled() {
		c.SMTP.setDefaults()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Server is a running Candour service.
type Server struct {
	cfg   Config
	db    *storage.DB
	app   *fiber.App
	pages *frontend.Templates
	// catalogue translates reporter pages and messages.
	catalogue *frontend.Catalogue
	// defaultQuestionnaire is the built-in questionnaire, translated.
	defaultQuestionnaire *frontend.Questionnaire
	// questionnaires caches channels' stored questionnaires, parsed, by
	// their Ref: a stored version never changes (questionnaire.go).
	questionnaires questionnaireCache
	// steps bounds the report form's step pages read at once (each may
	// carry the report's text: report_step.go).
	steps chan struct{}
	// caseKDF bounds case-code derivations. Logins and new reports share
	// it, new reports first but only five in a row (kdf.go), so that a
	// flood of wrong codes can neither starve (and lose) finished uploads
	// nor take more than a sixth of their processor time, and a right
	// code still gets through.
	caseKDF *kdfPool
	// staffKDF bounds staff password checks (Argon2id, 64 MiB each).
	staffKDF *kdfPool
	throttle *loginThrottle
	// refusals counts refused reporter requests by kind (refusals.go).
	refusals refusalCounts
	// refusalLog is what was published of them, at the last interval
	// boundary.
	refusalLog refusalLog

	// rec is the organisation's current recipients: those of the
	// --recipients file plus those administrators added in the console,
	// at a version of the latter (refreshRecipients). recMu serialises
	// reloads.
	rec   atomic.Pointer[versionedRecipients]
	recMu sync.Mutex

	// Background work runs under bgCtx, which Shutdown cancels, and
	// Shutdown waits for it on bg (see background.go). bgRunning counts
	// it, for tests.
	bg        sync.WaitGroup
	bgCtx     context.Context
	bgCancel  context.CancelFunc
	bgRunning atomic.Int64
	// retentionListed, if set (tests only), runs in RunRetention between
	// reading the list of expired cases and deleting them.
	retentionListed func()
	// exports are the console exports being sent (export_slots.go).
	exports exportSlots

	uploads chan struct{}
	// keeps bounds the requests that read a whole message form to keep it
	// in a page (message_kept.go) without an upload slot.
	keeps chan struct{}
	// receipts holds the receipts of new reports for a few minutes, for a
	// repeat of the same form (receipt_kept.go): in memory, or in a
	// database shared by several instances (receipt_db.go).
	receipts receiptKeeper
	cleaner  *metadata.Cleaner
	// sessions are the reporters' follow-up sessions (session.go,
	// session_db.go).
	sessions sessionStore
	log      *slog.Logger

	// kdfCurrent derives new case codes; kdfSets (newest first) are tried
	// at follow-up login, so codes made under older parameters, or by
	// another instance under other parameters, still work (kdf_sets.go).
	kdfCurrent kdfSet
	kdfSets    kdfSets
	// dummyCode stands in for malformed input, so that it costs the same
	// derivations as a well-formed wrong code.
	dummyCode crypto.CaseCode
}

// New prepares a server over db. It does not listen yet.
func New(cfg Config, db *storage.DB) (*Server, error) {
	cfg.setDefaults()
	if cfg.Recipients == nil || cfg.Recipients.Len() == 0 {
		return nil, errors.New("no organisation recipients configured")
	}
	// A message's text, JSON-escaped, must fit in crypto.MaxMessageSize
	// (4 MiB) with its attachment list. A character takes at most six
	// bytes there (a control character or U+2028 escaped as \uXXXX; any
	// other at most four bytes of UTF-8): 512 Ki characters, 3 MiB.
	if cfg.MaxTextChars > MaxTextChars {
		return nil, fmt.Errorf("max text must be at most %d characters", MaxTextChars)
	}
	if cfg.MaxFiles > 1000 {
		return nil, errors.New("max files must be at most 1000")
	}
	if cfg.SMTP.Enabled() {
		if err := cfg.SMTP.validate(cfg.PublicURL); err != nil {
			return nil, err
		}
	}
	if err := cfg.KDF.Validate(); err != nil {
		return nil, fmt.Errorf("invalid kdf parameters: %w", err)
	}
	cat, err := frontend.LoadCatalogue()
	if err != nil {
		return nil, err
	}
	pages, err := frontend.Parse(cat)
	if err != nil {
		return nil, err
	}
	cleaner, err := metadata.NewIsolatedCleaner(cfg.MaxCleanBytes, metadata.Isolation{
		Path: cfg.CleanerPath, MemoryBudget: cfg.CleanMemory, CPU: cfg.CleanCPU, Wall: cfg.CleanTimeout, Queue: cfg.CleanWait})
	if err != nil {
		return nil, err
	}
	fresh, err := crypto.NewKDFParams(cfg.KDF.Time, cfg.KDF.MemoryKiB, cfg.KDF.Threads)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	current, err := db.EnsureKDFParams(ctx, storage.KDFParams{
		Time: fresh.Time, MemoryKiB: fresh.MemoryKiB, Threads: fresh.Threads, Salt: fresh.Salt,
	})
	if err != nil {
		return nil, err
	}
	dummy, err := crypto.NewCaseCode()
	if err != nil {
		return nil, err
	}
	throttle, err := newLoginThrottle(ctx, db)
	if err != nil {
		return nil, err
	}
	s := &Server{
		dummyCode:            dummy,
		cfg:                  cfg,
		db:                   db,
		pages:                pages,
		catalogue:            cat,
		defaultQuestionnaire: frontend.DefaultQuestionnaire(cat),
		caseKDF:              newKDFPool(cfg.KDFConcurrency),
		staffKDF:             newKDFPool(2),
		throttle:             throttle,
		uploads:              make(chan struct{}, cfg.MaxConcurrentUploads),
		keeps:                make(chan struct{}, 2*cfg.MaxConcurrentUploads),
		steps:                make(chan struct{}, 2*cfg.MaxConcurrentUploads),
		cleaner:              cleaner,
		log:                  cfg.Logger,
		kdfCurrent: kdfSet{id: current.ID, params: crypto.KDFParams{
			Time: current.Time, MemoryKiB: current.MemoryKiB, Threads: current.Threads, Salt: current.Salt}},
		refusalLog: refusalLog{rounding: refusalRounding},
	}
	if _, err := s.kdfSets.load(ctx, db); err != nil {
		return nil, err
	}
	s.caseKDF.collect = cfg.KDF.MemoryKiB >= collectFromKiB
	if db.Shared() {
		// Another instance may serve a reporter's next request.
		s.sessions = &dbSessions{db: db, idle: cfg.SessionIdle, lifetime: cfg.SessionMax, log: cfg.Logger}
		s.receipts = &dbReceipts{db: db, claimFor: s.receiptWait(), log: cfg.Logger}
	} else {
		// Sessions keep the database's clock, so that tests can move it.
		s.sessions = newSessionStore(cfg.SessionIdle, cfg.SessionMax, func() time.Time { return db.Now() })
		s.receipts = newReceiptStore(func() time.Time { return db.Now() })
	}
	s.app = fiber.New(fiber.Config{
		// Uploads are parsed by our own streaming code: with these two
		// settings fasthttp never parses a multipart body itself and never
		// writes a part to a temporary file (by default it spills file
		// parts to os.TempDir: plaintext on disk; TestPlaintextNeverReachesDisk
		// in disk_test.go checks that none is written).
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		// With streaming, a larger body is not refused but streamed (fasthttp
		// pre-reads at most 8 KiB); limits are enforced by the handlers.
		BodyLimit:             1 << 20,
		ReadBufferSize:        16 << 10,
		ReadTimeout:           cfg.HeaderTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		DisableStartupMessage: true,
		// Routes match case and all: /STAFF/login is not the console's
		// login page but a reporter 404 (Fiber's default matches without
		// regard to case, which put upper-case paths in the staff area).
		CaseSensitive: true,
		ErrorHandler:  s.handleError,
		// Fiber's default is to trust nothing from proxies; keep it, so
		// that no forwarded address is ever read.
		EnableTrustedProxyCheck: false,
	})
	// A multipart upload may take longer than HeaderTimeout. Before the
	// handler runs, fasthttp reads the first 8 KiB of the body: that must
	// come within BodyIdleTimeout. Then the handler's body reader keeps the
	// connection's deadline moving while bytes come in fast enough (see
	// pacedBody), up to ReadTimeout in all.
	//
	// It is also where a request's framing is checked, before any byte of
	// its body is read (framing.go).
	s.app.Server().HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		s.checkFraming(h)
		if bytes.HasPrefix(h.ContentType(), []byte("multipart/form-data")) {
			return fasthttp.RequestConfig{ReadTimeout: cfg.BodyIdleTimeout}
		}
		return fasthttp.RequestConfig{}
	}
	if err := s.reloadRecipients(ctx); err != nil {
		return nil, err
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	s.background("reporter session and receipt sweep", func(ctx context.Context) {
		every(ctx, time.Minute, false, func(ctx context.Context) { s.sessions.sweep(ctx); s.receipts.sweep(ctx) })
	})
	s.background("staff session sweep", func(ctx context.Context) {
		every(ctx, 5*time.Minute, false, s.sweepStaffSessions)
	})
	// Of several instances on one database, one at a time runs these
	// (background.go, exclusive).
	s.background("upload sweep", func(ctx context.Context) {
		every(ctx, time.Hour, false, s.exclusive("upload sweep", s.uploadSweep))
	})
	s.background("retention", func(ctx context.Context) { every(ctx, time.Hour, true, s.exclusive("retention", s.retentionRun)) })
	s.background("refusal log", func(ctx context.Context) { s.logRefusals(ctx, cfg.RefusalLogInterval) })
	if cfg.SMTP.Enabled() && !cfg.NotifyByHand {
		s.background("notifications", func(ctx context.Context) { s.notifyLoop(ctx, cfg.NotifyInterval) })
	}
	s.routes()
	return s, nil
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.app.Listener(lingerListener{ln})
}

// Shutdown stops the background work and waits for it to end, whatever
// ctx says (it ends quickly: see stopBackground); then it stops accepting
// connections and waits for requests in progress until ctx ends. So the
// background work never outlives Shutdown, even when an upload in progress
// uses ctx's time up. Once it returns nil, the server no longer uses the
// database; an error means a request was still in progress.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopBackground()
	return s.app.ShutdownWithContext(ctx)
}

// versionedRecipients is the organisation's recipients as of version of
// the keys added in the console (storage.OrgRecipientsVersion).
type versionedRecipients struct {
	*crypto.Recipients
	version int64
}

// recipients returns the organisation's recipients as last loaded. Where
// something is sealed to them, refreshRecipients has been called first in
// the request (acquireUpload does it for reports and messages).
func (s *Server) recipients() *crypto.Recipients { return s.rec.Load().Recipients }

// refreshRecipients reloads the organisation's recipients if the keys
// added in the console changed since they were loaded, on this instance
// or another: one indexed read when they did not. A key removed (or
// added) on any instance, once the removal is acknowledged, is so left out
// of (or added to) everything sealed after this call.
func (s *Server) refreshRecipients(ctx context.Context) error {
	v, err := s.db.OrgRecipientsVersion(ctx)
	if err != nil {
		return err
	}
	if cur := s.rec.Load(); cur != nil && cur.version >= v {
		return nil
	}
	return s.reloadRecipients(ctx)
}

// reloadRecipients combines the --recipients file with the keys added in
// the console. It fails, changing nothing, if the two mix kinds.
func (s *Server) reloadRecipients(ctx context.Context) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	added, version, err := s.db.OrgRecipientsVersioned(ctx)
	if err != nil {
		return err
	}
	if cur := s.rec.Load(); cur != nil && cur.version > version {
		return nil // a newer list was loaded meanwhile
	}
	lines := s.cfg.Recipients.Strings()
	for _, r := range added {
		lines = append(lines, r.Recipient)
	}
	rs, err := crypto.ParseRecipientsString(strings.Join(lines, "\n"))
	if err != nil {
		return fmt.Errorf("the recipients file and the keys added in the console do not go together: %w", err)
	}
	s.rec.Store(&versionedRecipients{Recipients: rs, version: version})
	return nil
}

// sweepStaffSessions deletes expired staff sessions (every few minutes, in
// the background), so that their rows do not pile up.
func (s *Server) sweepStaffSessions(ctx context.Context) {
	now := s.db.Now()
	if _, err := s.db.DeleteStaffSessionsBefore(ctx, now.Add(-staffLifetime), now.Add(-staffIdle)); err != nil && ctx.Err() == nil {
		s.log.Error("failed to delete expired staff sessions", "err", err)
	}
}
