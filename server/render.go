package server

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
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
	Lang  frontend.Language
	// Switch lists the other languages with links to this page in each;
	// empty where following such a link would lose the page (an answer to
	// a form, such as the receipt with the case code).
	Switch []languageLink
}

// switchPages are the reporter pages a language link may return to.
var switchPages = map[string]bool{"/": true, "/report": true, "/followup": true, "/case": true, "/case/withdraw": true}

type languageLink struct {
	frontend.Language
	URL string
}

func (s *Server) page(c *fiber.Ctx, title string, data any) pageData {
	p := pageData{Site: site{Org: s.cfg.OrgName, Demo: s.cfg.Demo}, Title: title, Data: data, Lang: languageOf(c)}
	p.Site.EmployerNetwork, _ = c.Locals(employerNetworkKey{}).(bool)
	if c.Method() == fiber.MethodGet && areaOf(c) == areaReporter {
		// Links go back to this page only if it is one of ours: a path such
		// as "//elsewhere.example" must not become a link off the site.
		path := c.Path()
		if !switchPages[path] {
			path = "/"
		}
		query := "?lang="
		if id, err := strconv.ParseInt(c.Query("channel"), 10, 64); path == "/report" && err == nil && id > 0 {
			// The report form for a channel stays that channel's form.
			query = "?channel=" + strconv.FormatInt(id, 10) + "&lang="
		}
		for _, l := range frontend.Languages {
			if l.Tag != p.Lang.Tag {
				p.Switch = append(p.Switch, languageLink{l, path + query + l.Tag})
			}
		}
	}
	return p
}

// render writes a page with the given status.
func (s *Server) render(c *fiber.Ctx, status int, name, title string, data any) error {
	body, err := s.pages.Render(name, languageOf(c).Tag, s.page(c, title, data))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(body)
}

// staffView is what the layout shows of the logged-in staff member.
type staffView struct {
	ID       int64
	Username string
	Admin    bool
	CSRF     string
	// Custodian: they hold reporters' identity details (staff_identity.go).
	Custodian bool
	// StatisticsOnly: a statistics account, which sees the statistics
	// and nothing else.
	StatisticsOnly bool
	// IdleMinutes is how long a session lasts unused (staffIdle): the
	// console's script forgets the caseworker's key after as long
	// without use, as the server forgets the session.
	IdleMinutes int
	// RecoveryUsed: the last login before this session's was with a
	// recovery code; shown once, on this session's first page.
	RecoveryUsed *recoveryUse
}

// recoveryUse is what the recovery-code notice says: when, and how many
// codes are left.
type recoveryUse struct {
	When string
	Left int
}

// renderStaff renders a staff page with the staff header.
func (s *Server) renderStaff(c *fiber.Ctx, status int, name, title string, data any) error {
	u := staffOf(c)
	p := s.page(c, title, data)
	p.Staff = &staffView{ID: u.ID, Username: u.Username, Admin: u.Role == storage.RoleAdmin, CSRF: u.session.CSRF, Custodian: u.Custodian,
		StatisticsOnly: u.Role == storage.RoleStatistics, IdleMinutes: int(staffIdle / time.Minute)}
	if at, ok, err := s.db.TakeRecoveryNotice(c.UserContext(), u.ID, u.session.TokenHash); err != nil {
		return err
	} else if ok {
		left, err := s.db.UnusedRecoveryCodes(c.UserContext(), u.ID)
		if err != nil {
			return err
		}
		p.Staff.RecoveryUsed = &recoveryUse{When: consoleTime(at), Left: left}
	}
	body, err := s.pages.Render(name, p.Lang.Tag, p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(body)
}
