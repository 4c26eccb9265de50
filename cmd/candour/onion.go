package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// An onionService is a v3 onion service that a local tor publishes for
// Candour through its control port, for as long as the control connection
// that created it stays open: it goes when Candour stops. Its key is kept
// in a file, so the address stays the same from one start to the next.
//
// This is the alternative to a HiddenServiceDir in torrc (see the operator
// guide); either way tor holds the connection to the Tor network and
// Candour sees only connections from tor on loopback.
type onionService struct {
	control  string // tor's control port, host:port
	password string // if tor uses HashedControlPassword
	keyFile  string
	target   string // where tor sends the service's port 80
	log      *slog.Logger

	Address string // "….onion"
	done    chan struct{}

	mu   sync.Mutex
	conn net.Conn // the control connection that holds the service
}

// startOnion publishes the service and keeps it published: if tor
// restarts, it is published again, with the same key, every 30 seconds
// until tor answers.
func startOnion(control, password, keyFile, target string, log *slog.Logger) (*onionService, error) {
	o := &onionService{control: control, password: password, keyFile: keyFile, target: target, log: log, done: make(chan struct{})}
	conn, addr, err := o.publish()
	if err != nil {
		return nil, err
	}
	o.conn, o.Address = conn, addr
	go o.watch(conn)
	return o, nil
}

// Close withdraws the onion service.
func (o *onionService) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.done)
	o.conn.Close()
}

// adopt makes conn the connection holding the service, unless Close came
// first.
func (o *onionService) adopt(conn net.Conn) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case <-o.done:
		conn.Close()
		return false
	default:
	}
	o.conn = conn
	return true
}

func (o *onionService) watch(conn net.Conn) {
	for {
		// The control connection says nothing unless asked: a read ends
		// only when tor goes away or Close closes it.
		_, err := conn.Read(make([]byte, 512))
		conn.Close()
		select {
		case <-o.done:
			return
		default:
		}
		o.log.Warn("the connection to tor's control port ended; publishing the onion service again", "err", err)
		for conn = nil; conn == nil; {
			select {
			case <-o.done:
				return
			case <-time.After(30 * time.Second):
			}
			c, _, err := o.publish()
			if err != nil {
				o.log.Warn("tor is not reachable yet", "err", err)
				continue
			}
			if !o.adopt(c) {
				return
			}
			conn = c
			o.log.Info("onion service published again", "onion", o.Address)
		}
	}
}

var serviceID = regexp.MustCompile(`^[a-z2-7]{56}$`)

// publish asks tor for the service and returns the control connection that
// holds it, and its address.
func (o *onionService) publish() (net.Conn, string, error) {
	conn, err := net.DialTimeout("tcp", o.control, 10*time.Second)
	if err != nil {
		return nil, "", fmt.Errorf("failed to reach tor's control port: %w", err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &torConn{conn: conn, r: bufio.NewReader(conn)}
	if err := c.authenticate(o.password); err != nil {
		conn.Close()
		return nil, "", err
	}
	key := "NEW:ED25519-V3"
	if b, err := os.ReadFile(o.keyFile); err == nil {
		key = strings.TrimSpace(string(b))
		if !strings.HasPrefix(key, "ED25519-V3:") {
			conn.Close()
			return nil, "", fmt.Errorf("%s does not hold an ED25519-V3 onion key", o.keyFile)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		conn.Close()
		return nil, "", err
	}
	// Ask for tor's proof-of-work defence (docs/operator-guide.md): under a
	// flood of connections, clients that solve a puzzle go first, and a
	// flood has to pay for every connection. A tor before 0.4.9 knows no
	// such keyword in ADD_ONION and answers 512 or 513: the service is
	// then published without it, and the log says so.
	lines, err := c.do("ADD_ONION " + key + " PoWDefensesEnabled=1 Port=80," + o.target)
	if err != nil && (strings.HasPrefix(err.Error(), "tor: 512") || strings.HasPrefix(err.Error(), "tor: 513")) {
		o.log.Warn("this tor does not offer the onion-service proof-of-work defence through its control port (tor 0.4.9 or later does); publishing without it", "err", err)
		lines, err = c.do("ADD_ONION " + key + " Port=80," + o.target)
	}
	if err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("tor refused the onion service: %w", err)
	}
	var id, newKey string
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "ServiceID="); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(l, "PrivateKey="); ok {
			newKey = v
		}
	}
	if !serviceID.MatchString(id) {
		conn.Close()
		return nil, "", errors.New("tor gave no onion address")
	}
	if newKey != "" {
		// Written once, before anyone is told the address: losing it would
		// change the address reporters were given.
		if err := writeNewFile(o.keyFile, []byte(newKey+"\n")); err != nil {
			conn.Close()
			return nil, "", fmt.Errorf("failed to keep the onion key: %w", err)
		}
	}
	conn.SetDeadline(time.Time{})
	return conn, id + ".onion", nil
}

// torConn speaks tor's control protocol: a command line, then reply lines
// "250-…" ending with "250 …" (or an error code).
type torConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func (c *torConn) do(cmd string) ([]string, error) {
	if _, err := fmt.Fprintf(c.conn, "%s\r\n", cmd); err != nil {
		return nil, err
	}
	var lines []string
	for len(lines) < 100 {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 4 {
			return nil, fmt.Errorf("unexpected reply from tor: %q", l)
		}
		if !strings.HasPrefix(l, "250") {
			return nil, fmt.Errorf("tor: %s", l)
		}
		lines = append(lines, l[4:])
		if l[3] == ' ' {
			return lines, nil
		}
	}
	return nil, errors.New("reply from tor too long")
}

// authenticate uses the cookie file tor names, or the password if tor asks
// for one.
func (c *torConn) authenticate(password string) error {
	lines, err := c.do("PROTOCOLINFO 1")
	if err != nil {
		return err
	}
	var methods, cookieFile string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "AUTH METHODS="); ok {
			methods, rest, _ = strings.Cut(rest, " ")
			if f, ok := strings.CutPrefix(rest, "COOKIEFILE="); ok {
				cookieFile = strings.Trim(f, `"`)
			}
		}
	}
	has := func(m string) bool {
		for _, x := range strings.Split(methods, ",") {
			if x == m {
				return true
			}
		}
		return false
	}
	var auth string
	switch {
	case has("NULL"):
		auth = "AUTHENTICATE"
	case password != "" && has("HASHEDPASSWORD"):
		auth = "AUTHENTICATE " + quoteControl(password)
	case has("SAFECOOKIE") && cookieFile != "":
		// Not COOKIE, which sends the file's contents to whatever answers
		// on the control port, and lets it name the file: with SAFECOOKIE
		// tor must prove it knows the cookie before candour proves it does,
		// and the cookie itself is never sent. Every tor that offers COOKIE
		// offers SAFECOOKIE too.
		cookie, err := os.ReadFile(cookieFile)
		if err != nil {
			return fmt.Errorf("failed to read tor's control cookie (run candour as a user allowed to read it): %w", err)
		}
		if len(cookie) != 32 {
			return fmt.Errorf("%s is not a tor control cookie", cookieFile)
		}
		if auth, err = c.safeCookie(cookie); err != nil {
			return err
		}
	default:
		return fmt.Errorf("tor's control port wants %s; give --tor-control-password or enable CookieAuthentication", methods)
	}
	if _, err := c.do(auth); err != nil {
		return fmt.Errorf("tor refused authentication: %w", err)
	}
	return nil
}

// safeCookie runs tor's SAFECOOKIE challenge and returns the AUTHENTICATE
// command that answers it, after checking that tor knows the cookie too.
func (c *torConn) safeCookie(cookie []byte) (string, error) {
	clientNonce := make([]byte, 32)
	rand.Read(clientNonce) // never fails: the program would crash instead
	lines, err := c.do("AUTHCHALLENGE SAFECOOKIE " + hex.EncodeToString(clientNonce))
	if err != nil {
		return "", fmt.Errorf("tor refused the authentication challenge: %w", err)
	}
	var serverHash, serverNonce []byte
	for _, l := range lines {
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "SERVERHASH="); ok {
				serverHash, _ = hex.DecodeString(v)
			}
			if v, ok := strings.CutPrefix(f, "SERVERNONCE="); ok {
				serverNonce, _ = hex.DecodeString(v)
			}
		}
	}
	mac := func(key string) []byte {
		h := hmac.New(sha256.New, []byte(key))
		h.Write(cookie)
		h.Write(clientNonce)
		h.Write(serverNonce)
		return h.Sum(nil)
	}
	if len(serverNonce) != 32 || !hmac.Equal(serverHash, mac("Tor safe cookie authentication server-to-controller hash")) {
		return "", errors.New("the control port did not prove it knows tor's cookie: is it tor?")
	}
	return "AUTHENTICATE " + hex.EncodeToString(mac("Tor safe cookie authentication controller-to-server hash")), nil
}

func quoteControl(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "").Replace(s) + `"`
}
