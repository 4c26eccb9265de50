package server

import (
	"crypto/tls"
	"net"
	"testing"
)

// Wrapping connections to close them in stages keeps a TLS connection
// recognisable as one (fasthttp's IsTLS, and so the scheme of enrolment
// links when --tls-cert is used).
func TestLingerKeepsTLSConnectionsRecognisable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			c.Read(make([]byte, 1))
		}
	}()
	c, err := lingerListener{tls.NewListener(ln, &tls.Config{})}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(interface {
		Handshake() error
		ConnectionState() tls.ConnectionState
	}); !ok {
		t.Fatal("a TLS connection no longer looks like one")
	}
	if _, ok := c.(interface{ setLinger() }); !ok {
		t.Fatal("a TLS connection cannot be closed in stages")
	}
}
