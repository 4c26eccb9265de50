package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// quickTimeouts makes the slow-client limits short enough to test. The
// tests assert that connections end and that nothing is left behind, never
// how long anything took. A second, not less: the tests' own well-behaved
// clients must send each request within it, and on a busy CI machine (two
// cores, load 10) a goroutine can be held up for a few hundred
// milliseconds.
func quickTimeouts(c *server.Config) {
	c.HeaderTimeout = time.Second
	c.BodyIdleTimeout = time.Second
	c.MinUploadRate = 4 << 10
}

func dial(t *testing.T, ts *testServer) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	// A guard so that a failing test ends; far above the server's limits,
	// and generous for a busy machine.
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	return conn
}

// closedByServer reads until the server closes the connection, returning
// what it sent. It fails the test if the guard deadline is reached first.
func closedByServer(t *testing.T, conn net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a stalled connection open for 2 minutes")
	}
	return string(b)
}

func TestStalledClientsAreDisconnected(t *testing.T) {
	t.Parallel()
	ts := startServer(t, quickTimeouts)

	t.Run("never sends a byte", func(t *testing.T) {
		conn := dial(t, ts)
		closedByServer(t, conn)
	})
	t.Run("stops in the middle of its headers", func(t *testing.T) {
		conn := dial(t, ts)
		fmt.Fprint(conn, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-")
		closedByServer(t, conn)
	})
	t.Run("stops in the middle of an upload", func(t *testing.T) {
		conn := dial(t, ts)
		fmt.Fprint(conn, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n"+
			"--XX\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"a.bin\"\r\n\r\n"+strings.Repeat("x", 20000))
		closedByServer(t, conn)
		if n := counts(t, ts.DB); n != [4]int64{} {
			t.Fatalf("a stalled upload left rows behind: %v", n)
		}
	})

	// While stalled connections wait to be dropped, others are served.
	for range 50 {
		dial(t, ts)
	}
	submit(t, ts, "served beside fifty stalled connections")
}

func TestTrickledUploadIsCutOff(t *testing.T) {
	t.Parallel()
	ts := startServer(t, quickTimeouts)
	// From the first byte, and after a quick start that gets the upload
	// into the handler's own reader.
	for _, quickStart := range []int{0, 64 << 10} {
		t.Run(fmt.Sprint("quick start ", quickStart), func(t *testing.T) {
			conn := dial(t, ts)
			const size = 1 << 20
			head := "--XX\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"a.bin\"\r\n\r\n"
			fmt.Fprintf(conn, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: %d\r\n\r\n%s%s",
				len(head)+size, head, strings.Repeat("x", quickStart))
			done := make(chan string, 1)
			go func() {
				b, _ := io.ReadAll(conn)
				done <- string(b)
			}()
			// A byte every 20 ms is 50 bytes a second: the whole megabyte
			// would take hours. The server must drop it long before.
			for sent := quickStart; sent < size; sent++ {
				select {
				case <-done:
					if n := counts(t, ts.DB); n != [4]int64{} {
						t.Fatalf("a trickled upload left rows behind: %v", n)
					}
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := conn.Write([]byte{'x'}); err != nil {
					break
				}
			}
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				t.Fatal("the server kept a trickling connection open for 2 minutes after it stopped")
			}
		})
	}
}

func TestHugePartHeadersAreRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	huge := strings.Repeat("a", 200<<10)
	body := "--XX\r\nContent-Disposition: form-data; name=\"body\"\r\nX-Filler: " + huge + "\r\n\r\ntext\r\n--XX--\r\n"
	req, err := http.NewRequest("POST", ts.URL+"/report", strings.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
	res, _ := do(t, client(t), req)
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a 200 KiB part header got %d", res.StatusCode)
	}
	if n := counts(t, ts.DB); n != [4]int64{} {
		t.Fatalf("rows left behind: %v", n)
	}
	// Many small headers within the bound are fine.
	fields := [][2]string{{"body", "ordinary report"}}
	for i := range 10 {
		fields = append(fields, [2]string{fmt.Sprintf("extra%d", i), strings.Repeat("b", 1000)})
	}
	b, ctype := multipartBody(fields, nil)
	if res, _ := post(t, client(t), ts.URL+"/report", b, ctype); res.StatusCode != http.StatusOK {
		t.Fatalf("an ordinary form got %d", res.StatusCode)
	}
}

// lastAudit returns the newest audit entries' details.
func auditDetails(t *testing.T, db *storage.DB) string {
	t.Helper()
	entries, _, err := db.AuditPage(context.Background(), 0, 100)
	must(t, err)
	var all []string
	for _, e := range entries {
		all = append(all, e.Action+" "+e.Detail)
	}
	return strings.Join(all, "\n")
}

func TestStaffLoginAuditHoldsNoAddressUnlessOptedIn(t *testing.T) {
	t.Parallel()
	for _, optIn := range []bool{false, true} {
		t.Run(fmt.Sprint("opt-in=", optIn), func(t *testing.T) {
			ts := startServer(t, func(c *server.Config) { c.AuditStaffNetwork = optIn })
			loggedIn(t, ts, "casey", "caseworker")
			staffLogin(t, ts, client(t), "casey", "wrong password 1234", "000000")
			trail := auditDetails(t, ts.DB)
			if !strings.Contains(trail, "staff.login ") || !strings.Contains(trail, "staff.login_failed") {
				t.Fatalf("logins not audited:\n%s", trail)
			}
			if has := strings.Contains(trail, "127.0.0.1"); has != optIn {
				t.Fatalf("address in audit trail = %v, want %v:\n%s", has, optIn, trail)
			}
		})
	}
}

// An ordinary keep-alive client is not affected by the short header
// timeout between its requests beyond IdleTimeout.
func TestKeepAliveClientsAreServed(t *testing.T) {
	t.Parallel()
	ts := startServer(t, quickTimeouts)
	conn := dial(t, ts)
	r := bufio.NewReader(conn)
	for i := range 3 {
		fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
