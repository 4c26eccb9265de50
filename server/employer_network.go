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
	if addr, ok := s.clientAddr(c); ok {
		for _, p := range s.cfg.EmployerNetworks {
			if p.Contains(addr) {
				c.Locals(employerNetworkKey{}, true)
				break
			}
		}
	}
	return c.Next()
}

// clientAddr is the client's address: the peer's, or behind a reverse proxy
// on this machine (a loopback peer) the right-most entry of ClientIPHeader,
// the one our own proxy added. Callers must not store or log it, except
// where the operator opted in (AuditStaffNetwork).
func (s *Server) clientAddr(c *fiber.Ctx) (netip.Addr, bool) {
	addr, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if ok && addr.Unmap().IsLoopback() && s.cfg.ClientIPHeader != "" {
		if v := c.Get(s.cfg.ClientIPHeader); v != "" {
			parts := strings.Split(v, ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				addr, ok = a, true
			}
		}
	}
	return addr.Unmap(), ok
}
