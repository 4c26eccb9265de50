package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/candour/candour/frontend"
)

// routes is the whole route table.
//
// Handlers pass c.UserContext(), never c.Context(), to anything that may
// outlive the handler (database/sql watches a query's context from its own
// goroutine): fasthttp reuses its RequestCtx for the next request.
func (s *Server) routes() {
	app := s.app
	app.Use(bodyFraming)
	app.Use(recover.New())
	app.Use(s.securityHeaders)
	app.Use(sameOrigin)

	app.Use("/static", filesystem.New(filesystem.Config{
		Root:   http.FS(frontend.Static()),
		MaxAge: 3600,
	}))

	app.Get("/", s.handleIndex)
	app.Get("/report", s.handleReportForm)
	app.Post("/report", s.handleReportSubmit)
	app.Get("/followup", s.handleFollowupForm)
	app.Post("/followup", s.handleFollowupCheck)
	app.Get("/case", s.handleCaseView)
	app.Post("/case/message", s.handleCaseMessage)
	app.Get("/case/attachment/:id<int>", s.handleAttachmentDownload)
	app.Post("/case/logout", s.handleCaseLogout)

	app.Use(func(c *fiber.Ctx) error { return errNotFound })
}
