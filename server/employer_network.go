package server

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

type employerNetworkKey struct{}

// employerNetwork flags requests that come from a network the operator
// named as an employer's (a police force's ranges, say), so that reporter
// pages can warn before anything is typed. The address is compared in
// memory and dropped: it is never stored, logged or put in a page.
//
// Behind a reverse proxy on the same machine the peer is loopback; then,
// and only then, the client address is read from ClientIPHeader (the
// right-most entry, the one our own proxy added).
func (s *Server) employerNetwork(c *fiber.Ctx) error {
	if len(s.cfg.EmployerNetworks) == 0 {
		return c.Next()
	}
	addr, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if ok && addr.Unmap().IsLoopback() && s.cfg.ClientIPHeader != "" {
		if v := c.Get(s.cfg.ClientIPHeader); v != "" {
			parts := strings.Split(v, ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				addr, ok = a, true
			}
		}
	}
	if ok {
		addr = addr.Unmap()
		for _, p := range s.cfg.EmployerNetworks {
			if p.Contains(addr) {
				c.Locals(employerNetworkKey{}, true)
				break
			}
		}
	}
	return c.Next()
}
