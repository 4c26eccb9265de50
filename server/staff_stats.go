package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// The statistics page (GET /staff/stats) and its CSV (GET
// /staff/stats.csv) are built from one statsView: the CSV writes the
// page's tables cell by cell, so the two cannot say different things. The
// figures come from storage.Statistics, which has already hidden every
// count that must not be shown; this file only words them.

// Words for figures that are not shown (storage.Figure.Hidden).
const (
	textSuppressed = "fewer than 5"
	textWithheld   = "not shown"
	textFewCases   = "fewer than 5 cases"
	textNoCases    = "no cases"
)

type statsView struct {
	Year   int
	Period string // the year, as the page and the CSV name it
	Years  []int
	Today  time.Time
	// CSV is the address of these figures as CSV.
	CSV      string
	Sections []statsSection
}

// statsSection is one heading of the page with its chart and tables.
type statsSection struct {
	ID, Heading, Intro string
	Chart              *statsChart
	Tables             []statsTable
}

// statsTable is a table of figures: a caption, column headings (the first
// heads the row labels), and rows.
type statsTable struct {
	ID, Caption string
	Columns     []string
	Rows        []statsRow
}

type statsRow struct {
	Label string
	Total bool
	Cells []statsCell
}

type statsCell struct {
	Text   string
	Hidden bool // a figure not shown, in words
}

// statsYear reads the "year" query parameter: a year from 1970 to the
// next, by default the current year.
func (s *Server) statsYear(c *fiber.Ctx) (int, error) {
	this := s.db.Today().Year()
	q := c.Query("year")
	if q == "" {
		return this, nil
	}
	y, err := strconv.Atoi(q)
	if err != nil || y < 1970 || y > this+1 {
		return 0, staffBadRequest("Choose a year from the list.")
	}
	return y, nil
}

// statsPage computes the figures of the requested period and words them.
func (s *Server) statsPage(c *fiber.Ctx) (statsView, error) {
	year, err := s.statsYear(c)
	if err != nil {
		return statsView{}, err
	}
	st, err := s.db.Statistics(c.UserContext(), year)
	if err != nil {
		return statsView{}, err
	}
	return newStatsView(st), nil
}

func newStatsView(st storage.Statistics) statsView {
	v := statsView{Year: st.Year, Years: st.Years, Today: st.Today, Period: strconv.Itoa(st.Year),
		CSV: "/staff/stats.csv?year=" + strconv.Itoa(st.Year)}
	in := " in " + v.Period

	// Reports received, by month and quarter.
	received := statsSection{ID: "received", Heading: "Reports received",
		Intro: countSentence(st.Received, "reports received"+in+".")}
	months := statsTable{ID: "received-by-month", Caption: "Reports received" + in + ", by month", Columns: []string{"Month", "Reports"}}
	var bars []statsBarData
	for i, f := range st.ByMonth {
		m := time.Month(i + 1)
		months.Rows = append(months.Rows, countRow(m.String(), f))
		bars = append(bars, statsBarData{Label: m.String()[:3], Name: m.String(), Figure: f})
	}
	months.Rows = append(months.Rows, totalRow("Total", st.Received))
	quarters := statsTable{ID: "received-by-quarter", Caption: "Reports received" + in + ", by quarter", Columns: []string{"Quarter", "Reports"}}
	for q, f := range st.ByQuarter {
		first, last := time.Month(q*3+1), time.Month(q*3+3)
		quarters.Rows = append(quarters.Rows, countRow(fmt.Sprintf("Q%d (%s to %s)", q+1, first, last), f))
	}
	quarters.Rows = append(quarters.Rows, totalRow("Total", st.Received))
	received.Chart = columnChart("chart-months", "Bar chart of the reports received"+in+", by month; the table below gives the figures.", bars)
	received.Tables = []statsTable{months, quarters}

	channels := statsTable{ID: "received-by-channel", Caption: "Reports received" + in + ", by channel", Columns: []string{"Channel", "Reports"}}
	var chBars []statsBarData
	for _, ch := range st.ByChannel {
		name := ch.Label
		if name == "" {
			name = fmt.Sprintf("Channel %d", ch.ID)
		}
		channels.Rows = append(channels.Rows, countRow(name, ch.Figure))
		chBars = append(chBars, statsBarData{Label: name, Name: name, Figure: ch.Figure})
	}
	channels.Rows = append(channels.Rows, totalRow("Total", st.Received))

	ack := statsTable{ID: "acknowledgement", Caption: "Acknowledgement of the reports received" + in, Columns: []string{"Reports", "Number"}}
	ack.Rows = []statsRow{
		countRow(fmt.Sprintf("Acknowledged within %d days of receipt", storage.AckWithinDays), st.AckWithin),
		countRow(fmt.Sprintf("Acknowledged later than %d days after receipt", storage.AckWithinDays), st.AckLater),
		countRow("Not acknowledged (yet)", st.NotAcknowledged),
		totalRow("Total received", st.Received),
		{Label: fmt.Sprintf("Share acknowledged within %d days", storage.AckWithinDays), Cells: []statsCell{shareCell(st.AckShare)}},
	}

	times := statsTable{ID: "time-taken", Caption: "Days taken, for the reports received" + in, Columns: []string{"From receipt to", "Median", "90th percentile"}}
	times.Rows = []statsRow{
		{Label: "Acknowledgement", Cells: []statsCell{daysCell(st.DaysToAck.Median), daysCell(st.DaysToAck.P90)}},
		{Label: "Closure", Cells: []statsCell{daysCell(st.DaysToClose.Median), daysCell(st.DaysToClose.P90)}},
	}

	outcomes := statsTable{ID: "outcomes", Caption: "Outcomes of the reports received" + in + " that are closed", Columns: []string{"Outcome", "Reports"}}
	var outBars []statsBarData
	for _, o := range st.ByOutcome {
		name := o.Label
		if o.ID == 0 {
			name = "Closed without an outcome recorded"
		}
		outcomes.Rows = append(outcomes.Rows, countRow(name, o.Figure))
		outBars = append(outBars, statsBarData{Label: name, Name: name, Figure: o.Figure})
	}
	outcomes.Rows = append(outcomes.Rows, totalRow("Total closed", st.Closed))

	today := st.Today.Format("2 January 2006")
	late := statsTable{ID: "past-deadline", Caption: "Reports received" + in + " still open and past a deadline on " + today,
		Columns: []string{"Deadline passed", "Reports"}}
	late.Rows = []statsRow{
		countRow("Not acknowledged by the acknowledge-by date", st.PastAckBy),
		countRow("Acknowledged, and no feedback by the feedback-by date", st.PastFeedbackBy),
	}

	v.Sections = []statsSection{
		received,
		{ID: "channels", Heading: "By channel", Intro: "The channel each report was sent to.",
			Chart:  rowChart("chart-channels", "Bar chart of the reports received"+in+", by channel; the table below gives the figures.", chBars),
			Tables: []statsTable{channels}},
		{ID: "acknowledged", Heading: "Acknowledgement", Intro: fmt.Sprintf(
			"Whether each report was acknowledged within %d days of the day it arrived, as the EU Whistleblowing Directive requires.", storage.AckWithinDays),
			Tables: []statsTable{ack}},
		{ID: "times", Heading: "Time taken", Intro: "How many days it took to acknowledge and to close a report, from the day it arrived.",
			Tables: []statsTable{times}},
		{ID: "outcome", Heading: "Outcomes", Intro: countSentence(st.Closed, "of these reports are closed now, counted here by the outcome recorded when closing them."),
			Chart:  rowChart("chart-outcomes", "Bar chart of the outcomes of the closed reports received"+in+"; the table below gives the figures.", outBars),
			Tables: []statsTable{outcomes}},
		{ID: "deadlines", Heading: "Past a deadline", Intro: "Reports still open today whose deadline has passed.",
			Tables: []statsTable{late}},
	}
	return v
}

func countRow(label string, f storage.Figure) statsRow {
	return statsRow{Label: label, Cells: []statsCell{countCell(f)}}
}

func totalRow(label string, f storage.Figure) statsRow {
	return statsRow{Label: label, Total: true, Cells: []statsCell{countCell(f)}}
}

// countSentence begins a sentence with a count: "45 reports …",
// "Fewer than 5 reports …", or says that the count is not shown.
func countSentence(f storage.Figure, rest string) string {
	switch f.Hidden {
	case "":
		return thousands(f.N) + " " + rest
	case storage.Suppressed:
		return "Fewer than 5 " + rest
	}
	return "How many " + strings.TrimSuffix(rest, ".") + " is not shown: it would give away a count below 5."
}

func countCell(f storage.Figure) statsCell {
	switch f.Hidden {
	case "":
		return statsCell{Text: thousands(f.N)}
	case storage.Suppressed:
		return statsCell{Text: textSuppressed, Hidden: true}
	default:
		return statsCell{Text: textWithheld, Hidden: true}
	}
}

// hiddenCell words a share or percentile that is not shown.
func hiddenCell(f storage.Figure) statsCell {
	switch f.Hidden {
	case storage.FewCases:
		return statsCell{Text: textFewCases, Hidden: true}
	case storage.NoCases:
		return statsCell{Text: textNoCases, Hidden: true}
	default:
		return statsCell{Text: textWithheld, Hidden: true}
	}
}

func shareCell(f storage.Figure) statsCell {
	if !f.Shown() {
		return hiddenCell(f)
	}
	return statsCell{Text: strconv.Itoa(f.N) + "%"}
}

func daysCell(f storage.Figure) statsCell {
	switch {
	case !f.Shown():
		return hiddenCell(f)
	case f.N == 1:
		return statsCell{Text: "1 day"}
	}
	return statsCell{Text: thousands(f.N) + " days"}
}

// thousands writes n with a comma between thousands, as English does.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// A chart is an SVG drawn on the server: no script, nothing to load. It is
// an image with a name (role="img", its <title>), and its table follows
// it, for those who read rather than look and for screen readers. A count
// that is not shown is drawn as a short hatched marker labelled "<5" or
// "*", never as a bar of its true length.
type statsChart struct {
	ID, Label string
	Column    bool // bars stand up (months); else they lie (channels, outcomes)
	Height    int
	Bars      []statsBar
	Hidden    bool // some bar is a marker: say what the marks mean
}

// statsBar is one bar with its place: lengths along the chart's width are
// percentages (the chart is as wide as the screen), across it pixels.
type statsBar struct {
	Label, Name, Value string
	Hidden             bool
	X, W               string // percent, or pixels for a marker lying down
	Y, H               int
	LabelX, ValueX     string
	LabelY, ValueY     int
}

type statsBarData struct {
	Label, Name string
	storage.Figure
}

// barMax is the largest count shown, which the longest bar stands for.
func barMax(bars []statsBarData) int {
	m := 0
	for _, b := range bars {
		if b.Shown() {
			m = max(m, b.N)
		}
	}
	return m
}

func barValue(f storage.Figure) string {
	switch f.Hidden {
	case "":
		return thousands(f.N)
	case storage.Suppressed:
		return "<5"
	}
	return "*"
}

func pct(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) + "%" }

const (
	columnPlot   = 170 // height of the tallest column, in pixels
	columnTop    = 24  // room above it for its value
	markerLength = 14  // a hidden count's marker, in pixels
)

// empty reports whether a chart would show nothing: every bar a zero.
func empty(data []statsBarData) bool {
	for _, d := range data {
		if !d.Shown() || d.N > 0 {
			return false
		}
	}
	return true
}

// columnChart draws bars standing up, one per period, labelled below; nil
// if every bar is zero (the table says so).
func columnChart(id, label string, data []statsBarData) *statsChart {
	if empty(data) {
		return nil
	}
	ch := &statsChart{ID: id, Label: label, Column: true, Height: columnTop + columnPlot + 28}
	top, base := barMax(data), columnTop+columnPlot
	slot := 100 / float64(max(len(data), 1))
	for i, d := range data {
		b := statsBar{Label: d.Label, Name: d.Name, Value: barValue(d.Figure), Hidden: !d.Shown(),
			X: pct(slot*float64(i) + slot*0.2), W: pct(slot * 0.6), LabelX: pct(slot * (float64(i) + 0.5)), LabelY: base + 20}
		b.ValueX = b.LabelX
		switch {
		case b.Hidden:
			b.H = markerLength
		case top > 0:
			b.H = int(math.Round(float64(columnPlot*d.N) / float64(top)))
		}
		b.Y, b.ValueY = base-b.H, base-b.H-6
		ch.Hidden = ch.Hidden || b.Hidden
		ch.Bars = append(ch.Bars, b)
	}
	return ch
}

const (
	rowPitch  = 50 // pixels per bar lying down: its label above, the bar below
	rowLabel  = 40 // longest label drawn, in characters (the table has it whole): a phone's width
	rowLength = 75 // the longest bar, in percent of the width: room for its value
)

// rowChart draws bars lying down, each with its label above it; nil if
// every bar is zero.
func rowChart(id, label string, data []statsBarData) *statsChart {
	if empty(data) {
		return nil
	}
	ch := &statsChart{ID: id, Label: label, Height: len(data)*rowPitch + 4}
	top := barMax(data)
	for i, d := range data {
		short := d.Label
		if utf8.RuneCountInString(short) > rowLabel {
			short = string([]rune(short)[:rowLabel-1]) + "…"
		}
		b := statsBar{Label: short, Name: d.Name, Value: barValue(d.Figure), Hidden: !d.Shown(),
			X: "0", LabelX: "0", LabelY: i*rowPitch + 16, Y: i*rowPitch + 24, H: 16}
		b.ValueY = b.Y + 13
		switch {
		case b.Hidden:
			b.W, b.ValueX = strconv.Itoa(markerLength*2), strconv.Itoa(markerLength*2)
		case top > 0 && d.N > 0:
			w := pct(rowLength * float64(d.N) / float64(top))
			b.W, b.ValueX = w, w
		default:
			b.W, b.ValueX = "0", "0"
		}
		ch.Hidden = ch.Hidden || b.Hidden
		ch.Bars = append(ch.Bars, b)
	}
	return ch
}
