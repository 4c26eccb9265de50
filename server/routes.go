package server

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// routes is the whole route table.
//
// Handlers pass c.UserContext(), never c.Context(), to anything that may
// outlive the handler (database/sql watches a query's context from its own
// goroutine): fasthttp reuses its RequestCtx for the next request.
func (s *Server) routes() {
	app := s.app
	app.Use(s.paceUploads)
	app.Use(bodyFraming)
	app.Use(recover.New())
	app.Use(s.securityHeaders)
	app.Use(sameOrigin)
	app.Use(s.employerNetwork)
	app.Use(s.chooseLanguage)

	app.Get("/static/*", s.handleStatic)

	app.Get("/healthz", s.handleHealth)
	app.Get("/", s.handleIndex)
	app.Get("/report", s.handleReportForm)
	app.Post("/report", s.handleReportSubmit)
	app.Get("/followup", s.handleFollowupForm)
	app.Post("/followup", s.handleFollowupCheck)
	app.Get("/case", s.handleCaseView)
	app.Post("/case/message", s.handleCaseMessage)
	app.Get("/case/attachment/:id<int>", s.handleAttachmentDownload)
	app.Post("/case/logout", s.handleCaseLogout)
	app.Get("/case/withdraw", s.handleCaseWithdrawForm)
	app.Post("/case/withdraw", s.handleCaseWithdraw)

	// The staff console. Login and enrolment are open; the rest needs a
	// session, and administration the administrator role.
	app.Get("/staff/login", s.handleStaffLoginForm)
	app.Post("/staff/login", s.handleStaffLogin)
	app.Get("/staff/enrol/:token", s.handleStaffEnrolForm)
	app.Post("/staff/enrol/:token", s.handleStaffEnrol)
	staff := s.requireStaff(false)
	admin := s.requireStaff(true)
	app.Get("/staff/", staff, s.handleStaffInbox)
	app.Post("/staff/logout", staff, s.handleStaffLogout)
	app.Post("/staff/logout-everywhere", staff, s.handleStaffLogoutEverywhere)
	app.Get("/staff/case/:ref", staff, s.handleStaffCase)
	app.Post("/staff/case/:ref/status", staff, s.changeCase(s.setStatus))
	app.Post("/staff/case/:ref/assign", staff, s.changeCase(s.assign))
	app.Post("/staff/case/:ref/retention", staff, s.changeCase(s.setRetention))
	app.Get("/staff/case/:ref/message/:id<int>", staff, s.handleStaffMessageCiphertext)
	app.Get("/staff/case/:ref/attachment/:id<int>", staff, s.handleStaffAttachmentCiphertext)
	app.Post("/staff/case/:ref/attachment", staff, s.handleStaffAttachmentUpload)
	app.Post("/staff/case/:ref/reply", staff, s.handleStaffReply)
	app.Post("/staff/case/:ref/note", staff, s.handleStaffNote)
	app.Get("/staff/case/:ref/note/:id<int>", staff, s.handleStaffNoteCiphertext)
	app.Get("/staff/admin/staff", admin, s.handleStaffAdmin)
	app.Post("/staff/admin/invite", admin, s.handleStaffInvite)
	app.Post("/staff/admin/account", admin, s.handleStaffAccount)
	app.Post("/staff/admin/retention", admin, s.handleStaffDefaultRetention)
	app.Get("/staff/admin/audit", admin, s.handleStaffAudit)
	app.Get("/staff/admin/recipients", admin, s.handleStaffRecipients)
	app.Post("/staff/admin/recipients/add", admin, s.handleStaffRecipientAdd)
	app.Post("/staff/admin/recipients/remove", admin, s.handleStaffRecipientRemove)

	app.Use(func(c *fiber.Ctx) error { return errNotFound })
}
