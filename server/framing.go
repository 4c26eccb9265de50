package server

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Request framing: how long a request's body is, and so where the next
// request on the connection begins. A request whose framing is ambiguous
// (request smuggling) or whose declared body will be refused anyway is
// answered without reading its body, and its connection is closed, so
// that nothing the client sent after its headers is ever read as a request.
//
// This cannot be done in a handler or middleware alone. Before any
// handler runs, fasthttp (v1.51, RequestHeader.parseHeaders) has framed the
// body already: it treats any Transfer-Encoding other than exactly
// "identity" as chunked (xchunked, "chunked, identity" and all) and keeps
// only the word "chunked"; a Transfer-Encoding overrides a Content-Length
// before it and hides one after it; of two Content-Lengths the last wins.
// And it reads the first 8 KiB of a body before the handler, so a refusal
// of a declared length would come only once the client had sent that much.
// So checkFraming runs in fasthttp's HeaderReceived hook, on the raw header
// lines, before any byte of the body is read. For a request it refuses it
// sets the body's length to zero (fasthttp then reads none of it) and notes
// why in framingHeader; refuseFraming, the first middleware, answers with
// the refusal page and closes the connection.

// framingHeader carries checkFraming's verdict to refuseFraming. Whatever a
// client sends under this name is removed first.
const framingHeader = "X-Candour-Framing-Refused"

// Why a request's framing is refused.
const (
	framingAmbiguous = "ambiguous"  // both Transfer-Encoding and Content-Length, two different lengths, or Transfer-Encoding on HTTP/1.0
	framingBadCoding = "bad-coding" // known codings, but not exactly one "chunked" ("chunked, chunked", an empty one)
	framingUnknown   = "unknown"    // a transfer coding this server does not know (501)
	framingTooLarge  = "too-large"  // a declared Content-Length above the limit for its kind of request
)

// formBodyMax is the largest declared length of a request body that is not
// a multipart upload. The largest small form read (readForm) is 16 KiB;
// bodyFraming drains up to 64 KiB of what a handler leaves unread.
const formBodyMax = 64 << 10

// checkFraming is the HeaderReceived hook's framing check (see above).
func (s *Server) checkFraming(h *fasthttp.RequestHeader) {
	h.Del(framingHeader)
	if why := s.framingFault(h); why != "" {
		// Read no byte of the body (and invite none: no "100 Continue"):
		// the connection closes after the answer.
		h.SetContentLength(0)
		h.Del(fasthttp.HeaderExpect)
		h.Set(framingHeader, why)
	}
}

// framingFault says why the framing of h is refused, or "" if it is not.
func (s *Server) framingFault(h *fasthttp.RequestHeader) string {
	var te, cl [][]byte
	for _, line := range bytes.Split(h.RawHeaders(), []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.Trim(v, " \t\r")
		switch {
		case bytes.EqualFold(k, []byte(fasthttp.HeaderTransferEncoding)):
			te = append(te, v)
		case bytes.EqualFold(k, []byte(fasthttp.HeaderContentLength)):
			cl = append(cl, v)
		}
	}
	if len(te) > 0 {
		// RFC 9112 §6.1: with both, the framing is faulty (a smuggling
		// attempt, or a proxy that got it wrong); HTTP/1.0 has no chunked
		// coding; chunked must be the last coding and be applied once, and
		// it is the only one this server knows.
		if len(cl) > 0 || !h.IsHTTP11() {
			return framingAmbiguous
		}
		var codings []string
		for _, v := range te {
			for _, c := range strings.Split(string(v), ",") {
				codings = append(codings, strings.ToLower(strings.Trim(c, " \t")))
			}
		}
		for _, c := range codings {
			if c != "chunked" && c != "" {
				return framingUnknown
			}
		}
		if len(codings) != 1 || codings[0] != "chunked" {
			return framingBadCoding
		}
		return ""
	}
	for _, v := range cl[min(1, len(cl)):] {
		if !bytes.Equal(v, cl[0]) {
			return framingAmbiguous
		}
	}
	limit := int64(formBodyMax)
	if bytes.HasPrefix(h.ContentType(), []byte("multipart/form-data")) {
		limit = s.cfg.MaxUploadBytes
	} else if path, _, _ := bytes.Cut(h.RequestURI(), []byte("?")); string(path) == stepFormPath {
		// A step of the report form carries the report's text once the
		// reporter has reached the last page (report_step.go).
		limit = s.stepFormLimit()
	}
	if int64(h.ContentLength()) > limit {
		return framingTooLarge
	}
	return ""
}

var (
	errFramingAmbiguous = &userError{status: http.StatusBadRequest, title: "This request could not be handled",
		message: []phrase{say("The request could not be handled.")}}
	errFramingUnknown = &userError{status: http.StatusNotImplemented, title: "This request could not be handled",
		message: []phrase{say("The request could not be handled.")}}
)

// refuseFraming, the first middleware, answers a request that checkFraming
// refused, under the policy of the area its path is in, and closes the
// connection (in stages: see lingerConn). Its body was not read before the
// answer, so no upload slot was taken.
func (s *Server) refuseFraming(c *fiber.Ctx) error {
	why := c.Get(framingHeader)
	if why == "" {
		return c.Next()
	}
	c.Context().SetConnectionClose()
	lingerOnClose(c)
	s.setSecurityHeaders(c)
	if p := c.Path(); p == "/staff" || strings.HasPrefix(p, "/staff/") {
		c.Locals(areaKey{}, areaStaff)
		c.Set(fiber.HeaderContentSecurityPolicy, staffCSP)
	} else {
		c.Locals(areaKey{}, areaReporter)
		s.setLanguage(c)
	}
	switch why {
	case framingTooLarge:
		return s.errLimit(say("Your submission is larger than this service accepts."))
	case framingUnknown:
		return errFramingUnknown
	default:
		return errFramingAmbiguous
	}
}

// A refused request's body is not read, but its client may be sending it
// still: closing a socket with unread data makes the operating system
// reset the connection, and a browser that sees the reset shows "connection
// reset" rather than the refusal page. So once the answer is sent, the
// connection of a refused request is closed in stages (RFC 9112 §9.6): the
// server's side first, then what the client still sends is read and
// dropped, by a goroutine of its own (no handler, no upload slot), up to
// refuseDrain bytes and for at most lingerTime, before the socket closes.
const lingerTime = 5 * time.Second

type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &lingerConn{Conn: c}
	if tc, ok := c.(tlsConn); ok {
		// fasthttp tells TLS connections by these methods (IsTLS, and so
		// Fiber's c.Protocol()): keep them.
		return lingerTLSConn{lc, tc}, nil
	}
	return lc, nil
}

type tlsConn interface {
	Handshake() error
	ConnectionState() tls.ConnectionState
}

type lingerTLSConn struct {
	*lingerConn
	tls tlsConn
}

func (c lingerTLSConn) Handshake() error                     { return c.tls.Handshake() }
func (c lingerTLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

type lingerConn struct {
	net.Conn
	linger atomic.Bool
	once   sync.Once
}

// lingerOnClose marks the connection of c to be closed in stages.
func lingerOnClose(c *fiber.Ctx) {
	if lc, ok := c.Context().Conn().(interface{ setLinger() }); ok {
		lc.setLinger()
	}
}

func (c *lingerConn) setLinger() { c.linger.Store(true) }

func (c *lingerConn) Close() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !c.linger.Load() || !ok {
		return c.Conn.Close()
	}
	var err error
	c.once.Do(func() {
		if err = cw.CloseWrite(); err != nil {
			c.Conn.Close()
			return
		}
		go func() {
			c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
			io.CopyN(io.Discard, c.Conn, refuseDrain)
			c.Conn.Close()
		}()
	})
	return err
}
