package server

import (
	"github.com/gofiber/fiber/v2"
)

type site struct {
	Org  string
	Demo bool
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
	body, err := s.pages.Render(name, s.page(title, data))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(body)
}
