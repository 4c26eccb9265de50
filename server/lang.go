package server

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/frontend"
)

type languageKey struct{}

// chooseLanguage picks the language of reporter pages: a choice made with
// the switcher (?lang=, remembered in langCookie), else the browser's
// Accept-Language, else English. It is reporter middleware (reporterArea):
// other areas stay in English.
func (s *Server) chooseLanguage(c *fiber.Ctx) error {
	s.setLanguage(c)
	return c.Next()
}

// setLanguage is chooseLanguage's choice, made without going on to the
// next handler.
func (s *Server) setLanguage(c *fiber.Ctx) {
	choice := c.Query("lang")
	if l := frontend.MatchLanguage(choice, ""); choice != "" && l.Tag == choice {
		s.setCookie(c, langCookie, choice)
	} else {
		choice = s.cookie(c, langCookie)
	}
	c.Locals(languageKey{}, frontend.MatchLanguage(choice, c.Get(fiber.HeaderAcceptLanguage)))
}

func languageOf(c *fiber.Ctx) frontend.Language {
	if l, ok := c.Locals(languageKey{}).(frontend.Language); ok {
		return l
	}
	return frontend.Languages[0]
}

// phrase is a sentence or two for a reporter: an English format string,
// which is also its key in the message catalogues, and its arguments.
type phrase struct {
	format string
	args   []any
}

func say(format string, args ...any) phrase { return phrase{format, args} }

// translate renders phrases in the request's language, one after another.
func (s *Server) translate(c *fiber.Ctx, ps ...phrase) string {
	p := s.catalogue.Printer(languageOf(c).Tag)
	out := make([]string, 0, len(ps))
	for _, ph := range ps {
		out = append(out, p.Sprintf(ph.format, ph.args...))
	}
	return strings.Join(out, " ")
}
