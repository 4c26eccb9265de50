package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type staffAdminPage struct {
	Staff         []storage.Staff
	RetentionDays int
	Invited       string // a new enrolment link, shown once
	Error         string
}

func (s *Server) staffAdminPage(c *fiber.Ctx, status int, invited, msg string) error {
	list, err := s.db.ListStaff(c.UserContext())
	if err != nil {
		return err
	}
	days, err := s.db.DefaultRetentionDays(c.UserContext())
	if err != nil {
		return err
	}
	return s.renderStaff(c, status, "staff_admin", "Staff", staffAdminPage{Staff: list, RetentionDays: days, Invited: invited, Error: msg})
}
