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
	// First: a request whose framing was refused (framing.go) is answered
	// before anything reads its body, and its connection is closed.
	app.Use(s.refuseFraming)
	app.Use(s.paceUploads)
	app.Use(bodyFraming)
	app.Use(recover.New())
	app.Use(s.securityHeaders)
	app.Use(s.employerNetwork)

	app.Get("/static/*", s.handleStatic)

	app.Get("/healthz", s.handleHealth)

	// The staff console: the staff CSP and English for everything under
	// /staff, unknown paths included (they end at its own 404 below, so
	// that the reporter area's middleware never runs for them). Login and
	// enrolment are open; the rest needs a session, and administration the
	// administrator role. Each state-changing handler checks the CSRF
	// token itself (staffForm, staffMultipart): only it knows whether its
	// body is a small form or a streamed upload.
	staff := app.Group("/staff", s.staffArea, sameOrigin)
	staff.Get("/login", s.handleStaffLoginForm)
	staff.Post("/login", s.handleStaffLogin)
	staff.Get("/enrol/:token", s.handleStaffEnrolForm)
	staff.Post("/enrol/:token", s.handleStaffEnrol)
	staff.Post("/enrol/:token/passkey/options", s.handleStaffEnrolPasskeyOptions)
	staff.Post("/enrol/:token/passkey", s.handleStaffEnrolPasskey)
	loggedIn := s.requireStaff(false)
	anyStaff := s.requireAnyStaff()
	staff.Get("/", loggedIn, s.handleStaffInbox)
	staff.Get("/summaries", loggedIn, s.handleStaffSummaries)
	staff.Post("/logout", anyStaff, s.handleStaffLogout)
	staff.Post("/logout-everywhere", anyStaff, s.handleStaffLogoutEverywhere)
	// Passkeys (webauthn.go): logging in with one after the password or
	// alone, and each account's own list, open to every role.
	staff.Post("/login/passkey/options", s.handleStaffLoginPasskeyOptions)
	staff.Post("/login/passkey", s.handleStaffLoginPasskey)
	staff.Get("/passkeys", anyStaff, s.handleStaffPasskeys)
	staff.Post("/passkeys/options", anyStaff, s.handleStaffPasskeyOptions)
	staff.Post("/passkeys", anyStaff, s.handleStaffPasskeyAdd)
	staff.Post("/passkeys/:id<int>/rename", anyStaff, s.handleStaffPasskeyRename)
	staff.Post("/passkeys/:id<int>/remove", anyStaff, s.handleStaffPasskeyRemove)
	// The yearly figures: administrators and statistics accounts, which
	// reach nothing else (requireStaff).
	statistics := s.requireStatistics()
	staff.Get("/stats", statistics, s.handleStaffStats)
	staff.Get("/stats.csv", statistics, s.handleStaffStatsCSV)
	staff.Get("/key", loggedIn, s.handleStaffKey)
	staff.Post("/key", loggedIn, s.handleStaffKeySet)
	staff.Get("/notifications", loggedIn, s.handleStaffNotifications)
	staff.Post("/notifications", loggedIn, s.handleStaffNotificationsUpdate)
	// Several cases at once, ticked in the inbox (each handler checks that
	// the caller may see every one): bulk workflow changes, and the zip
	// export that a case page offers for one case too.
	staff.Post("/bulk", loggedIn, s.handleStaffBulk)
	staff.Post("/export", loggedIn, s.handleStaffExport)

	// A case, for staff: its page and workflow forms, and the JSON and
	// ciphertext endpoints that the console's script (staff.js) calls to
	// fetch age files, upload encrypted attachments and send replies and
	// notes. The group's middleware resolves the case (loadStaffCase).
	caseArea := staff.Group("/case/:ref", loggedIn, s.loadStaffCase)
	caseArea.Get("", s.handleStaffCase)
	caseArea.Post("/status", s.changeCase(s.setStatus))
	caseArea.Post("/close", s.handleStaffCaseClose)
	caseArea.Post("/reopen", s.changeCase(s.reopen))
	caseArea.Get("/delete", s.handleStaffCaseDeleteForm)
	caseArea.Post("/delete", s.handleStaffCaseDelete)
	caseArea.Post("/assign", s.changeCase(s.assign))
	caseArea.Post("/acknowledge", s.changeCase(s.acknowledge))
	caseArea.Post("/extend", s.changeCase(s.extendFeedback))
	caseArea.Post("/retention", s.handleStaffCaseRetention)
	caseArea.Post("/recuse", s.handleStaffCaseRecuse)
	caseArea.Get("/message/:id<int>", s.handleStaffMessageCiphertext)
	caseArea.Get("/attachment/:id<int>", s.handleStaffAttachmentCiphertext)
	caseArea.Post("/attachment", s.handleStaffAttachmentUpload)
	caseArea.Post("/reply", s.handleStaffReply)
	caseArea.Post("/note", s.handleStaffNote)
	caseArea.Get("/note/:id<int>", s.handleStaffNoteCiphertext)
	caseArea.Get("/identity", s.handleStaffCaseIdentity)
	caseArea.Post("/identity/request", s.handleStaffCaseIdentityRequest)

	// Reporters' identity details, for custodians (each handler checks):
	// organisation-wide, so outside the case group's channel checks.
	staff.Get("/identity", loggedIn, s.handleStaffIdentity)
	staff.Get("/identity/case/:ref", loggedIn, s.handleStaffIdentityCase)
	staff.Get("/identity/case/:ref/copy", loggedIn, s.handleStaffIdentityCopyShow)
	staff.Post("/identity/case/:ref/copy", loggedIn, s.handleStaffIdentityCopy)
	staff.Post("/identity/request/:id<int>/approve", loggedIn, s.handleStaffIdentityApprove)
	staff.Post("/identity/request/:id<int>/refuse", loggedIn, s.handleStaffIdentityRefuse)

	// A channel's page for its members, and its keys for the console's
	// script: members and administrators (each handler checks which).
	channelArea := staff.Group("/channels/:id", loggedIn)
	channelArea.Get("", s.handleStaffChannelTeam)
	channelArea.Get("/keys", s.handleStaffChannelKeys)
	channelArea.Post("/key", s.handleStaffChannelKeyCreate)
	channelArea.Post("/grant", s.handleStaffChannelGrant)

	admin := staff.Group("/admin", s.requireStaff(true))
	admin.Get("/staff", s.handleStaffAdmin)
	admin.Post("/invite", s.handleStaffInvite)
	admin.Post("/account", s.handleStaffAccount)
	admin.Post("/custodian", s.handleStaffCustodian)
	admin.Post("/retention", s.handleStaffDefaultRetention)
	admin.Get("/audit", s.handleStaffAudit)
	admin.Get("/passkeys", s.handleStaffAdminPasskeys)
	admin.Post("/passkeys", s.handleStaffAdminPasskeysUpdate)
	admin.Get("/outcomes", s.handleStaffOutcomes)
	admin.Post("/outcomes/add", s.handleStaffOutcomeAdd)
	admin.Post("/outcomes/:id<int>", s.handleStaffOutcomeUpdate)
	admin.Get("/recipients", s.handleStaffRecipients)
	admin.Post("/recipients/add", s.handleStaffRecipientAdd)
	admin.Post("/recipients/remove", s.handleStaffRecipientRemove)
	admin.Get("/channels", s.handleStaffChannels)
	admin.Post("/channels/create", s.handleStaffChannelCreate)
	admin.Get("/channels/:id", s.handleStaffChannel)
	admin.Post("/channels/:id/update", s.handleStaffChannelUpdate)
	admin.Post("/channels/:id/identity", s.handleStaffChannelIdentity)
	admin.Post("/channels/:id/deadlines", s.handleStaffChannelDeadlines)
	admin.Post("/channels/:id/members/add", s.handleStaffChannelMemberAdd)
	admin.Post("/channels/:id/members/remove", s.handleStaffChannelMemberRemove)
	admin.Post("/channels/:id/exclude", s.handleStaffChannelExclude)
	admin.Post("/channels/:id/exclude/end", s.handleStaffChannelExcludeEnd)
	admin.Get("/channels/:id/questions", s.handleStaffQuestionnaire)
	admin.Post("/channels/:id/questions", s.handleStaffQuestionnaireEdit)
	admin.Get("/channels/:id/questions/json", s.handleStaffQuestionnaireDownload)
	admin.Post("/channels/:id/questions/upload", s.handleStaffQuestionnaireUpload)
	admin.Get("/channels/:id/questions/:version<int>", s.handleStaffQuestionnaireVersion)
	staff.Use(func(c *fiber.Ctx) error { return errNotFound })

	// The reporter pages: everything else, in the reporter's language. Each
	// area refuses cross-site posts (sameOrigin) after its own middleware,
	// so the refusal page follows the area's policy.
	reporter := app.Group("/", s.reporterArea, sameOrigin)
	reporter.Get("/", s.handleIndex)
	reporter.Get("/report", s.handleReportForm)
	reporter.Post("/report", s.handleReportSubmit)
	reporter.Post("/report/step", s.handleReportStep) // stepFormPath
	reporter.Get("/followup", s.handleFollowupForm)
	reporter.Post("/followup", s.handleFollowupCheck)
	reporter.Get("/case", s.handleCaseView)
	reporter.Post("/case/message", s.handleCaseMessage)
	reporter.Get("/case/attachment/:id<int>", s.handleAttachmentDownload)
	reporter.Post("/case/logout", s.handleCaseLogout)
	reporter.Get("/case/withdraw", s.handleCaseWithdrawForm)
	reporter.Post("/case/withdraw", s.handleCaseWithdraw)
	reporter.Get("/case/identity/withdraw", s.handleCaseIdentityWithdrawForm)
	reporter.Post("/case/identity/withdraw", s.handleCaseIdentityWithdraw)
	reporter.Use(func(c *fiber.Ctx) error { return errNotFound })
}
