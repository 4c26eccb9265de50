package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeTor listens where candour expects tor's control port and answers
// with answer, recording everything candour sends.
type fakeTor struct {
	addr     string
	mu       sync.Mutex
	received bytes.Buffer
}

func startFakeTor(t *testing.T, answer func(line string, w io.Writer) bool) *fakeTor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f := &fakeTor{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					f.mu.Lock()
					f.received.WriteString(line)
					f.mu.Unlock()
					if err != nil || !answer(strings.TrimRight(line, "\r\n"), conn) {
						return
					}
				}
			}()
		}
	}()
	return f
}

func (f *fakeTor) sent() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.received.String()
}

// Something other than tor on the control port (tor is down, another local
// program took the port) must not be able to make candour send it a file
// of its choice as a "cookie": here the onion service's own private key.
func TestFakeTorCannotReadFilesThroughCookieAuthentication(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "onion-v3.key")
	os.WriteFile(secret, []byte("ED25519-V3:a secret onion key that only candour may read\n"), 0o600)
	for _, methods := range []string{"COOKIE", "COOKIE,SAFECOOKIE"} {
		t.Run(methods, func(t *testing.T) {
			fake := startFakeTor(t, func(line string, w io.Writer) bool {
				switch {
				case strings.HasPrefix(line, "PROTOCOLINFO"):
					fmt.Fprintf(w, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=%s COOKIEFILE=\"%s\"\r\n250-VERSION Tor=\"0.4.8.10\"\r\n250 OK\r\n", methods, secret)
				case strings.HasPrefix(line, "AUTHCHALLENGE"):
					// It does not know the cookie, so it cannot prove it does.
					fmt.Fprintf(w, "250 AUTHCHALLENGE SERVERHASH=%s SERVERNONCE=%s\r\n", strings.Repeat("AB", 32), strings.Repeat("CD", 32))
				default:
					fmt.Fprint(w, "250 OK\r\n")
				}
				return true
			})
			_, err := startOnion(fake.addr, "", filepath.Join(dir, "other.key"), "127.0.0.1:1", slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatal("published through a control port that proved nothing")
			}
			file, _ := os.ReadFile(secret)
			if sent := strings.ToLower(fake.sent()); strings.Contains(sent, hex.EncodeToString(file)) || strings.Contains(sent, hex.EncodeToString(file[:32])) {
				t.Fatalf("candour sent the file's contents to the control port:\n%s", sent)
			}
		})
	}
}

// A tor that knows the cookie is authenticated with SAFECOOKIE, which
// never sends the cookie itself.
func TestSafeCookieAuthentication(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cookie := bytes.Repeat([]byte{0x5A}, 32)
	cookieFile := filepath.Join(dir, "control_auth_cookie")
	os.WriteFile(cookieFile, cookie, 0o600)
	serverNonce := bytes.Repeat([]byte{0x17}, 32)
	var clientNonce []byte
	mac := func(key string, parts ...[]byte) []byte {
		h := hmac.New(sha256.New, []byte(key))
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	authenticated := false
	fake := startFakeTor(t, func(line string, w io.Writer) bool {
		switch {
		case strings.HasPrefix(line, "PROTOCOLINFO"):
			fmt.Fprintf(w, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"%s\"\r\n250 OK\r\n", cookieFile)
		case strings.HasPrefix(line, "AUTHCHALLENGE SAFECOOKIE "):
			clientNonce, _ = hex.DecodeString(strings.TrimPrefix(line, "AUTHCHALLENGE SAFECOOKIE "))
			fmt.Fprintf(w, "250 AUTHCHALLENGE SERVERHASH=%X SERVERNONCE=%X\r\n",
				mac("Tor safe cookie authentication server-to-controller hash", cookie, clientNonce, serverNonce), serverNonce)
		case strings.HasPrefix(line, "AUTHENTICATE "):
			want := mac("Tor safe cookie authentication controller-to-server hash", cookie, clientNonce, serverNonce)
			if !strings.EqualFold(strings.TrimPrefix(line, "AUTHENTICATE "), hex.EncodeToString(want)) {
				fmt.Fprint(w, "515 Authentication failed\r\n")
				return false
			}
			authenticated = true
			fmt.Fprint(w, "250 OK\r\n")
		case strings.HasPrefix(line, "ADD_ONION"):
			fmt.Fprintf(w, "250-ServiceID=%s\r\n250-PrivateKey=ED25519-V3:abc\r\n250 OK\r\n", strings.Repeat("a", 56))
		default:
			fmt.Fprint(w, "510 Unrecognized command\r\n")
		}
		return true
	})
	o, err := startOnion(fake.addr, "", filepath.Join(dir, "onion.key"), "127.0.0.1:1", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("%v\nsent:\n%s", err, fake.sent())
	}
	o.Close()
	if !authenticated || strings.Contains(strings.ToLower(fake.sent()), hex.EncodeToString(cookie)) {
		t.Fatalf("authenticated %v; sent:\n%s", authenticated, fake.sent())
	}
}

// Candour asks tor for the onion-service proof-of-work defence when it
// publishes the service. A tor that does not know the keyword (before
// 0.4.9, it answers 512) still gets the service, published without it.
func TestOnionAsksForProofOfWork(t *testing.T) {
	t.Parallel()
	for _, knowsPoW := range []bool{true, false} {
		t.Run(fmt.Sprintf("tor knows PoW: %v", knowsPoW), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var adds []string
			var mu sync.Mutex
			fake := startFakeTor(t, func(line string, w io.Writer) bool {
				switch {
				case strings.HasPrefix(line, "PROTOCOLINFO"):
					fmt.Fprint(w, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250 OK\r\n")
				case line == "AUTHENTICATE":
					fmt.Fprint(w, "250 OK\r\n")
				case strings.HasPrefix(line, "ADD_ONION"):
					mu.Lock()
					adds = append(adds, line)
					mu.Unlock()
					if !knowsPoW && strings.Contains(line, "PoWDefensesEnabled") {
						fmt.Fprint(w, "512 Unrecognized keyword\r\n")
						return true
					}
					fmt.Fprintf(w, "250-ServiceID=%s\r\n250-PrivateKey=ED25519-V3:abc\r\n250 OK\r\n", strings.Repeat("b", 56))
				default:
					fmt.Fprint(w, "510 Unrecognized command\r\n")
				}
				return true
			})
			o, err := startOnion(fake.addr, "", filepath.Join(dir, "onion.key"), "127.0.0.1:1", slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("%v\nsent:\n%s", err, fake.sent())
			}
			defer o.Close()
			if o.Address != strings.Repeat("b", 56)+".onion" {
				t.Errorf("address %q", o.Address)
			}
			mu.Lock()
			defer mu.Unlock()
			want := 1
			if !knowsPoW {
				want = 2
			}
			if len(adds) != want || !strings.Contains(adds[0], " PoWDefensesEnabled=1 ") ||
				(!knowsPoW && strings.Contains(adds[1], "PoW")) {
				t.Errorf("ADD_ONION commands sent: %q", adds)
			}
		})
	}
}
