package server

import (
	"github.com/gofiber/fiber/v2"
)

type site struct {
	Org             string
	Demo            bool
	EmployerNetwork bool // the request came from a configured employer network
}

type pageData struct {
	Site  site
	Title string
	Data  any
	Staff *staffView // nil on reporter pages
}

func (s *Server) page(title string, data any) pageData {
	return pageData{Site: site{Org: s.cfg.OrgName, Demo: s.cfg.Demo}, Title: title, Data: data}
}

// render writes a page with the given status.
func (s *Server) render(c *fiber.Ctx, status int, name, title string, data any) error {
	p := s.page(title, data)
	p.Site.EmployerNetwork, _ = c.Locals(employerNetworkKey{}).(bool)
	body, err := s.pages.Render(name, p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(body)
}
