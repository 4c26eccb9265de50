package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// debianPython is the interpreter Debian's python3-aiosmtpd installs for
// (a python3 earlier on PATH, from pyenv say, may not see it).
const debianPython = "/usr/bin/python3"

// freePort returns a port on 127.0.0.1 that nothing listens on (for now).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// smtpSink is a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every
// mail's raw bytes (testdata/smtpsink.py).
type smtpSink struct{ dir string }

// receivedMail is one mail as the sink received it.
type receivedMail struct {
	rcpt []string
	raw  []byte
}

// startSMTPSink starts aiosmtpd on 127.0.0.1:port, with extra arguments
// (TLS), and waits until it accepts connections. It is stopped when the
// test ends.
func startSMTPSink(t *testing.T, port int, extra ...string) *smtpSink {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + strconv.Itoa(port), "-c", "smtpsink.Sink"}, extra...)
	return runSMTPSink(t, port, dir, append(args, dir)...)
}

// startAuthSMTPSink starts a real SMTP server on 127.0.0.1:port that
// demands STARTTLS (with certFile and keyFile) and then AUTH as user with
// password before it takes a mail (testdata/smtpauthsink.py).
func startAuthSMTPSink(t *testing.T, port int, certFile, keyFile, user, password string) *smtpSink {
	t.Helper()
	dir := t.TempDir()
	return runSMTPSink(t, port, dir, filepath.Join("testdata", "smtpauthsink.py"),
		strconv.Itoa(port), dir, certFile, keyFile, user, password)
}

// runSMTPSink runs Debian's python3 with args (an aiosmtpd server keeping
// mails in dir) until the test ends, and waits until it accepts
// connections on port.
func runSMTPSink(t *testing.T, port int, dir string, args ...string) *smtpSink {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import aiosmtpd").Run(); err != nil {
		t.Fatalf("Debian's python3-aiosmtpd is not installed (%s cannot import aiosmtpd: %v): run the tests with `make test`, which installs it", debianPython, err)
	}
	testdata, err := filepath.Abs("testdata")
	must(t, err)
	cmd := exec.Command(debianPython, args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+testdata)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	must(t, cmd.Start())
	// exited is closed once the process has ended, and waitErr says why.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("aiosmtpd:\n%s", logs.String())
		}
	})
	// Wait for it to listen: progress, not time (the deadline is only
	// there to end a test that would otherwise hang).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-exited:
			t.Fatalf("aiosmtpd exited: %v\n%s", waitErr, logs.String())
		default:
		}
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return &smtpSink{dir: dir}
		}
		if time.Now().After(deadline) {
			t.Fatalf("aiosmtpd does not listen on port %d:\n%s", port, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mails returns every mail received so far, oldest first.
func (s *smtpSink) mails(t *testing.T) []receivedMail {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(s.dir, "*.eml"))
	must(t, err)
	sort.Strings(names)
	var out []receivedMail
	for _, name := range names {
		raw, err := os.ReadFile(name)
		must(t, err)
		rcpt, err := os.ReadFile(strings.TrimSuffix(name, ".eml") + ".rcpt")
		must(t, err)
		out = append(out, receivedMail{rcpt: strings.Fields(string(rcpt)), raw: raw})
	}
	return out
}

const notifyPublicURL = "https://report.watchdog.example"

// startNotifyingServer starts a server that mails through 127.0.0.1:port
// in plain SMTP.
func startNotifyingServer(t *testing.T, port int, adjust func(*server.Config)) *testServer {
	return startServer(t, func(c *server.Config) {
		c.PublicURL = notifyPublicURL
		c.SMTP = server.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: server.SMTPTLSNone, From: "candour@watchdog.example"}
		// The test is the clock: a boundary is a call to SendNotifications.
		c.NotifyByHand = true
		if adjust != nil {
			adjust(c)
		}
	})
}

// optIn saves an address on the staff member's own settings page.
func optIn(t *testing.T, ts *testServer, c *http.Client, csrf, email string) (*http.Response, string) {
	t.Helper()
	return post(t, c, ts.URL+"/staff/notifications",
		strings.NewReader(url.Values{"csrf": {csrf}, "action": {"save"}, "email": {email}}.Encode()),
		"application/x-www-form-urlencoded")
}

func notifyPending(t *testing.T, ts *testServer, username string) bool {
	t.Helper()
	p, err := ts.DB.NotifyPending(context.Background(), staffID(t, ts, username))
	must(t, err)
	return p
}

// wantNotification checks one raw mail: the fixed headers and the fixed
// text, and none of the secrets.
func wantNotification(t *testing.T, m receivedMail, to string, secrets []string) {
	t.Helper()
	if len(m.rcpt) != 1 || m.rcpt[0] != to {
		t.Errorf("envelope recipients %v, want only %s", m.rcpt, to)
	}
	for _, s := range secrets {
		if bytes.Contains(bytes.ToLower(m.raw), bytes.ToLower([]byte(s))) {
			t.Errorf("the mail to %s holds %q:\n%s", to, s, m.raw)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.raw))
	if err != nil {
		t.Fatalf("the mail to %s does not parse: %v\n%s", to, err, m.raw)
	}
	var names []string
	for k := range msg.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	if got := strings.Join(names, " "); got != "Auto-Submitted Content-Transfer-Encoding Content-Type Date From Message-Id Mime-Version Subject To" {
		t.Errorf("headers %s", got)
	}
	if got := msg.Header.Get("Subject"); got != server.NotifySubject {
		t.Errorf("subject %q", got)
	}
	if got := msg.Header.Get("To"); got != to {
		t.Errorf("To %q", got)
	}
	// Dated at a boundary (the default interval: on the hour), not when
	// it was sent.
	date, err := msg.Header.Date()
	if err != nil || !date.Equal(date.Truncate(time.Hour)) {
		t.Errorf("Date %q (%v): not on the hour", msg.Header.Get("Date"), err)
	}
	body := new(bytes.Buffer)
	_, err = body.ReadFrom(msg.Body)
	must(t, err)
	want := "There is activity for you in the Candour console: a new report,\r\n" +
		"a reporter's message, or a deadline coming up.\r\n\r\n" +
		"Log in to see it:\r\n" + notifyPublicURL + "/staff/\r\n\r\n" +
		"This mail says nothing more, on purpose: no case, channel, number or\r\n" +
		"text, and it is sent at fixed times, not when something happened.\r\n" +
		"You can stop these mails on the Notifications page of the console.\r\n"
	if body.String() != want {
		t.Errorf("body:\n%q\nwant the fixed text:\n%q", body.String(), want)
	}
}

// Staff who opt in get one fixed mail per boundary when reporters acted,
// saying nothing of what; a dead mail server changes nothing for reporters
// and the mail waits for the next boundary.
func TestNotificationsAreBatchedFixedAndContentFree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	port := freePort(t) // nothing listens there yet: the mail server is down
	ts := startNotifyingServer(t, port, nil)
	alice, aliceCSRF := loggedIn(t, ts, "alice", storage.RoleCaseworker)
	dave, daveCSRF := loggedIn(t, ts, "dave", storage.RoleAdmin)
	bob, _ := loggedIn(t, ts, "bob", storage.RoleCaseworker) // never opts in

	// Opting in: the page offers it; bad addresses are refused, changing
	// nothing; the audit trail says who opted in, never the address.
	if res, page := get(t, bob, ts.URL+"/staff/notifications"); res.StatusCode != http.StatusOK || !strings.Contains(page, `id="email"`) ||
		!strings.Contains(page, "You get no notifications") {
		t.Fatalf("settings page: %d\n%s", res.StatusCode, page)
	}
	for _, bad := range []string{"not an address", "Alice <alice@staff.example>", "alice@staff.example\r\nBcc: eve@evil.example",
		"alice@staff.example,eve@evil.example", strings.Repeat("a", 250) + "@staff.example", "alice@", "ålice@staff.example"} {
		if res, page := optIn(t, ts, alice, aliceCSRF, bad); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not an email address") {
			t.Errorf("address %q: %d", bad, res.StatusCode)
		}
	}
	if st, _ := ts.DB.StaffByUsername(ctx, "alice"); st.NotifyEmail != "" {
		t.Fatalf("a refused address was stored: %q", st.NotifyEmail)
	}
	if res, _ := post(t, alice, ts.URL+"/staff/notifications", strings.NewReader(url.Values{"csrf": {"wrong"}, "action": {"save"},
		"email": {"alice@staff.example"}}.Encode()), "application/x-www-form-urlencoded"); res.StatusCode == http.StatusOK {
		t.Error("an opt-in without the CSRF token was accepted")
	}
	if res, page := optIn(t, ts, alice, aliceCSRF, "alice@staff.example"); res.StatusCode != http.StatusOK || !strings.Contains(page, "alice@staff.example") {
		t.Fatalf("opt in: %d\n%s", res.StatusCode, page)
	}
	if res, _ := optIn(t, ts, dave, daveCSRF, "dave@staff.example"); res.StatusCode != http.StatusOK {
		t.Fatalf("opt in: %d", res.StatusCode)
	}
	entries, _, err := ts.DB.AuditPage(ctx, 0, 100)
	must(t, err)
	optIns := 0
	for _, e := range entries {
		if e.Action == "staff.notify.on" {
			optIns++
		}
		if strings.Contains(e.Target+e.Detail, "@") {
			t.Errorf("the audit trail holds an address: %+v", e)
		}
	}
	if optIns != 2 {
		t.Errorf("%d opt-ins audited, want 2", optIns)
	}

	// Nothing happened yet: a boundary sends nothing (and needs no server).
	must(t, ts.Srv.SendNotifications(ctx))

	// A report while the mail server is down: accepted, the same receipt.
	const reportText = "Sergeant Quill deletes the night shift's chat logs"
	code := submit(t, ts, reportText)
	if !notifyPending(t, ts, "alice") || !notifyPending(t, ts, "dave") || notifyPending(t, ts, "bob") {
		t.Fatal("a report did not flag exactly the opted-in staff")
	}
	// The boundary's mails fail, and are kept for the next.
	if err := ts.Srv.SendNotifications(ctx); err == nil {
		t.Fatal("a round with the mail server down reported no failure")
	}
	if !notifyPending(t, ts, "alice") || !notifyPending(t, ts, "dave") {
		t.Fatal("a failed mail was not kept for the next boundary")
	}
	// The reporter writes again, still with the mail server down.
	const messageText = "He also told PC Rook to lie"
	rc := login(t, ts, code)
	_, page := get(t, rc, ts.URL+"/case")
	body, ctype := multipartBody([][2]string{{"csrf", csrfOf(t, page)}, {"body", messageText}}, nil)
	if res, _ := post(t, rc, ts.URL+"/case/message", body, ctype); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reporter's message with the mail server down: %d", res.StatusCode)
	}
	if strings.Contains(ts.Log.String(), "alice@staff.example") || strings.Contains(ts.Log.String(), reportText) {
		t.Error("the log holds an address or report text")
	}

	// The mail server is back: the next boundary sends one mail to each
	// opted-in staff member, for the report and the message together.
	sink := startSMTPSink(t, port)
	must(t, ts.Srv.SendNotifications(ctx))
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	if len(cases) != 1 {
		t.Fatalf("%d cases", len(cases))
	}
	secrets := []string{cases[0].Ref, code, reportText, messageText, "Report misconduct", "bob", "Test Watchdog"}
	got := sink.mails(t)
	if len(got) != 2 {
		t.Fatalf("%d mails after the boundary, want 2 (alice and dave)", len(got))
	}
	byRcpt := map[string]receivedMail{}
	for _, m := range got {
		byRcpt[strings.Join(m.rcpt, ",")] = m
	}
	wantNotification(t, byRcpt["alice@staff.example"], "alice@staff.example", append(secrets, "dave"))
	wantNotification(t, byRcpt["dave@staff.example"], "dave@staff.example", append(secrets, "alice"))
	if bytes.Equal(byRcpt["alice@staff.example"].raw, byRcpt["dave@staff.example"].raw) {
		t.Error("two mails are byte for byte the same: the Message-ID should differ")
	}
	if notifyPending(t, ts, "alice") || notifyPending(t, ts, "dave") {
		t.Error("flags were not cleared by a sent mail")
	}

	// The next boundary, with nothing new: nothing.
	must(t, ts.Srv.SendNotifications(ctx))
	if n := len(sink.mails(t)); n != 2 {
		t.Fatalf("%d mails after a boundary with nothing new, want still 2", n)
	}

	// Dave opts out; a new report mails only alice.
	if res, _ := post(t, dave, ts.URL+"/staff/notifications", strings.NewReader(url.Values{"csrf": {daveCSRF}, "action": {"stop"}}.Encode()),
		"application/x-www-form-urlencoded"); res.StatusCode != http.StatusOK {
		t.Fatalf("opt out: %d", res.StatusCode)
	}
	submit(t, ts, "another report")
	must(t, ts.Srv.SendNotifications(ctx))
	got = sink.mails(t)
	if len(got) != 3 || strings.Join(got[2].rcpt, ",") != "alice@staff.example" {
		t.Fatalf("after dave opted out: %d mails, the last to %v", len(got), got[len(got)-1].rcpt)
	}
}

// Without a mail server the settings page says notifications are off and
// takes no address.
func TestNotificationsOffWithoutAMailServer(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c, csrf := loggedIn(t, ts, "alice", storage.RoleCaseworker)
	res, page := get(t, c, ts.URL+"/staff/notifications")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="notifications-off"`) || strings.Contains(page, `id="email"`) {
		t.Fatalf("settings page without a mail server: %d\n%s", res.StatusCode, page)
	}
	if res, _ := optIn(t, ts, c, csrf, "alice@staff.example"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("opt in without a mail server: %d", res.StatusCode)
	}
	submit(t, ts, "a report")
	if notifyPending(t, ts, "alice") {
		t.Error("a staff member who did not opt in was flagged")
	}
	must(t, ts.Srv.SendNotifications(context.Background()))
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key, as PEM
// files, and returns their paths and a pool that trusts it.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile, pool
}

// Notifications travel over STARTTLS or implicit TLS, the certificate
// checked; a server that does not offer the STARTTLS asked for gets
// nothing in clear, and the mail waits.
func TestNotificationsOverTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSignedCert(t)
	for _, tc := range []struct {
		name, mode string
		sinkArgs   []string
		delivered  bool
	}{
		{"STARTTLS", server.SMTPStartTLS, []string{"--tlscert", certFile, "--tlskey", keyFile}, true},
		{"implicit TLS", server.SMTPImplicitTLS, []string{"--smtpscert", certFile, "--smtpskey", keyFile}, true},
		{"STARTTLS asked of a server without it", server.SMTPStartTLS, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			port := freePort(t)
			sink := startSMTPSink(t, port, tc.sinkArgs...)
			ts := startNotifyingServer(t, port, func(c *server.Config) {
				c.SMTP.TLS = tc.mode
				c.SMTPRootCAs = pool
			})
			alice, csrf := loggedIn(t, ts, "alice", storage.RoleCaseworker)
			if res, _ := optIn(t, ts, alice, csrf, "alice@staff.example"); res.StatusCode != http.StatusOK {
				t.Fatalf("opt in: %d", res.StatusCode)
			}
			submit(t, ts, "the chief's expenses")
			err := ts.Srv.SendNotifications(ctx)
			got := sink.mails(t)
			if !tc.delivered {
				if err == nil || len(got) != 0 || !notifyPending(t, ts, "alice") {
					t.Fatalf("without STARTTLS: err %v, %d mails, pending %v", err, len(got), notifyPending(t, ts, "alice"))
				}
				return
			}
			must(t, err)
			if len(got) != 1 {
				t.Fatalf("%d mails", len(got))
			}
			wantNotification(t, got[0], "alice@staff.example", []string{"chief"})
		})
	}
}

// A mail server that demands a login gets the user and password from the
// configuration (after STARTTLS: AUTH PLAIN never travels in clear), and
// a wrong password delivers nothing and leaves the mail to be sent again.
func TestNotificationsAuthenticate(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSignedCert(t)
	for _, tc := range []struct {
		name, password string
		delivered      bool
	}{
		{"right password", "correct horse battery staple", true},
		{"wrong password", "not the password", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			port := freePort(t)
			sink := startAuthSMTPSink(t, port, certFile, keyFile, "candour", "correct horse battery staple")
			ts := startNotifyingServer(t, port, func(c *server.Config) {
				c.SMTP.TLS = server.SMTPStartTLS
				c.SMTPRootCAs = pool
				c.SMTP.Username, c.SMTP.Password = "candour", tc.password
			})
			alice, csrf := loggedIn(t, ts, "alice", storage.RoleCaseworker)
			if res, _ := optIn(t, ts, alice, csrf, "alice@staff.example"); res.StatusCode != http.StatusOK {
				t.Fatalf("opt in: %d", res.StatusCode)
			}
			submit(t, ts, "the chief's expenses")
			err := ts.Srv.SendNotifications(ctx)
			got := sink.mails(t)
			if !tc.delivered {
				// 535: the server refused the credentials (not, say, the TLS).
				if err == nil || !strings.Contains(err.Error(), "535") || len(got) != 0 || !notifyPending(t, ts, "alice") {
					t.Fatalf("with a wrong password: err %v, %d mails, pending %v", err, len(got), notifyPending(t, ts, "alice"))
				}
				return
			}
			must(t, err)
			if len(got) != 1 || notifyPending(t, ts, "alice") {
				t.Fatalf("%d mails, pending %v", len(got), notifyPending(t, ts, "alice"))
			}
			wantNotification(t, got[0], "alice@staff.example", []string{"chief", "correct horse"})
		})
	}
}

// With a mail server, the notification loop is one more piece of
// background work, and Shutdown waits for it too.
func TestShutdownWaitsForTheNotificationLoop(t *testing.T) {
	t.Parallel()
	ts := startNotifyingServer(t, freePort(t), func(c *server.Config) { c.NotifyByHand = false })
	if n := server.BackgroundRunning(ts.Srv); n != 6 {
		t.Fatalf("%d background goroutines with a mail server, want 6 (the five of every server and the notification loop)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must(t, ts.Srv.Shutdown(ctx))
	if n := server.BackgroundRunning(ts.Srv); n != 0 {
		t.Fatalf("%d background goroutines still running after Shutdown", n)
	}
}
