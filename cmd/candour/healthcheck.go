package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// runHealthcheck asks a running server whether it is healthy, for a
// container's HEALTHCHECK: the runtime image has no shell and no curl, so
// the binary checks itself. It exits 0 only on a 200 from /healthz.
func runHealthcheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("healthcheck", "healthcheck [--url URL] [--timeout DURATION]", stderr)
	url := fs.String("url", defaultHealthURL(), "the server's health `URL`")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	// No proxy from the environment: the check is about this server, not
	// whatever proxy the container may be given for other traffic.
	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{Proxy: nil}}
	res, err := client.Get(*url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *url, res.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// defaultHealthURL follows CANDOUR_ADDR, the listen address that serve
// also reads, so that a container whose address is changed through the
// environment keeps a working health check. A wildcard host (0.0.0.0, ::)
// is reached on loopback.
func defaultHealthURL() string {
	host, port := "127.0.0.1", "8080"
	if addr, ok := os.LookupEnv("CANDOUR_ADDR"); ok {
		if h, p, err := net.SplitHostPort(addr); err == nil {
			port = p
			if ip := net.ParseIP(h); h != "" && (ip == nil || !ip.IsUnspecified()) {
				host = h
			}
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}
