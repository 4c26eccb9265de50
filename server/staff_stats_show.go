package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffStats answers GET /staff/stats (?year=2025, or year=all):
// the yearly figures, for administrators and statistics accounts. Nothing
// is decrypted; every count below 5 is shown as "fewer than 5", and what
// would give one away is not shown (storage.Statistics).
func (s *Server) handleStaffStats(c *fiber.Ctx) error {
	v, err := s.statsPage(c)
	if err != nil {
		return err
	}
	return s.renderStaff(c, http.StatusOK, "staff_stats", "Statistics, "+v.Period, v)
}
