package server

import (
	"bytes"
	"encoding/csv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// handleStaffStatsCSV answers GET /staff/stats.csv (?year= as the page):
// the page's figures as CSV for the annual report, one line per figure
// (period, table, row, column, value), worded as on the page, the same
// counts hidden.
func (s *Server) handleStaffStatsCSV(c *fiber.Ctx) error {
	v, err := s.statsPage(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"period", "table", "row", "column", "value"})
	for _, sec := range v.Sections {
		for _, t := range sec.Tables {
			for _, r := range t.Rows {
				for i, cell := range r.Cells {
					w.Write([]string{v.Period, t.Caption, csvSafe(r.Label), t.Columns[i+1], cell.Text})
				}
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	name := "candour-statistics-" + strings.ReplaceAll(v.Period, " ", "-") + ".csv"
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(buf.Bytes())
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: channel
// names and outcome labels are typed by staff, and a cell that begins
// with = + - @ (or a tab or carriage return) would run as one when the
// file is opened. A single quote before it makes it text.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
