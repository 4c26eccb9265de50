package server_test

import (
	"context"
	"encoding/csv"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// statsTableRow is a row of a statistics table as the page shows it: its
// label, then its cells.
type statsTableRow []string

type statsPageTable struct {
	caption string
	columns []string
	rows    []statsTableRow
}

var (
	statsTableRE   = regexp.MustCompile(`(?s)<table class="stats" id="([^"]+)">(.*?)</table>`)
	statsCaptionRE = regexp.MustCompile(`<caption>(.*?)</caption>`)
	statsColumnRE  = regexp.MustCompile(`<th scope="col">(.*?)</th>`)
	statsRowRE     = regexp.MustCompile(`(?s)<tr[^>]*><th scope="row">(.*?)</th>(.*?)</tr>`)
	statsCellRE    = regexp.MustCompile(`<td[^>]*>(.*?)</td>`)
)

// statsTables reads every table of the statistics page, in order.
func statsTables(t *testing.T, page string) ([]string, map[string]statsPageTable) {
	t.Helper()
	var ids []string
	tables := map[string]statsPageTable{}
	for _, m := range statsTableRE.FindAllStringSubmatch(page, -1) {
		tb := statsPageTable{caption: html.UnescapeString(statsCaptionRE.FindStringSubmatch(m[2])[1])}
		for _, c := range statsColumnRE.FindAllStringSubmatch(m[2], -1) {
			tb.columns = append(tb.columns, html.UnescapeString(c[1]))
		}
		for _, r := range statsRowRE.FindAllStringSubmatch(m[2], -1) {
			row := statsTableRow{html.UnescapeString(r[1])}
			for _, c := range statsCellRE.FindAllStringSubmatch(r[2], -1) {
				row = append(row, html.UnescapeString(c[1]))
			}
			tb.rows = append(tb.rows, row)
		}
		ids = append(ids, m[1])
		tables[m[1]] = tb
	}
	if len(ids) == 0 {
		t.Fatalf("no statistics table on the page:\n%s", page)
	}
	return ids, tables
}

// rows builds expected rows: each string is "label|cell|cell…".
func rows(lines ...string) []statsTableRow {
	var out []statsTableRow
	for _, l := range lines {
		out = append(out, strings.Split(l, "|"))
	}
	return out
}

// Twelve reports received in 2025 through the report form, acknowledged
// and closed through the console, and one in 2024; the page's tables
// match a hand count (with June's two reports "fewer than 5", and what
// would give them away "not shown"), its charts draw no hidden count to
// its length, and the CSV holds exactly the page's figures, line by line.
func TestStatisticsPageAndCSVMatchAHandCount(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	setDay(ts, 2024, 12, 30)
	submitCase(t, ts, "a report of 2024")
	setDay(ts, 2025, 3, 3)
	ada := newDeadlineStaff(t, ts, "ada", storage.RoleAdmin)
	var march, june []string
	for i := range 10 {
		_, cs := submitCase(t, ts, "a report of March "+strconv.Itoa(i))
		march = append(march, cs.Ref)
	}
	acknowledge := func(refs ...string) {
		t.Helper()
		ada.login(t, ts)
		for _, ref := range refs {
			if res, body := ada.form(t, ts, "/staff/case/"+ref+"/acknowledge", url.Values{}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("acknowledge %s: %d %s", ref, res.StatusCode, body)
			}
		}
	}
	setDay(ts, 2025, 3, 4)
	acknowledge(march[:5]...) // after 1 day
	setDay(ts, 2025, 3, 7)
	acknowledge(march[5:]...) // after 4 days
	setDay(ts, 2025, 4, 2)    // 30 days after receipt
	ada.login(t, ts)
	for _, ref := range march[:5] {
		closeCase(t, ts, ada.c, ada.csrf, ref, "1") // Substantiated
	}
	closeCase(t, ts, ada.c, ada.csrf, march[5], "2") // Not substantiated
	setDay(ts, 2025, 6, 10)
	for i := range 2 {
		_, cs := submitCase(t, ts, "a report of June "+strconv.Itoa(i))
		june = append(june, cs.Ref)
	}
	setDay(ts, 2025, 6, 16)
	acknowledge(june...) // after 6 days
	setDay(ts, 2025, 7, 1)
	ada.login(t, ts)

	res, page := get(t, ada.c, ts.URL+"/staff/stats?year=2025")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /staff/stats: %d", res.StatusCode)
	}
	ids, tables := statsTables(t, page)
	// By hand, as storage.suppress does it: June (2) is suppressed; for
	// the year, the next non-zero month after it (wrapping round) is March
	// (10): withheld. Q2 (2) likewise takes Q1 (10). Six closed: Not
	// substantiated (1) is suppressed, Substantiated (5) withheld, and
	// with nothing left (sum 6 < 9) the total closed too. Open on 1 July
	// and past the feedback date (acknowledged 7 March, due 7 June): four
	// of March's.
	want := map[string][]statsTableRow{
		"received-by-month": rows("January|0", "February|0", "March|not shown", "April|0", "May|0", "June|fewer than 5",
			"July|0", "August|0", "September|0", "October|0", "November|0", "December|0", "Total|12"),
		"received-by-quarter": rows("Q1 (January to March)|not shown", "Q2 (April to June)|fewer than 5",
			"Q3 (July to September)|0", "Q4 (October to December)|0", "Total|12"),
		"received-by-channel": rows("Report misconduct|12", "Total|12"),
		"acknowledgement": rows("Acknowledged within 7 days of receipt|12", "Acknowledged later than 7 days after receipt|0",
			"Not acknowledged (yet)|0", "Total received|12", "Share acknowledged within 7 days|100%"),
		// Nearest rank of 12: the 6th (4 days) and the 11th (6 days). Of
		// the 6 closures the 90th percentile is not given (under 10 cases
		// it is the longest, one case's own).
		"time-taken": rows("Acknowledgement|4 days|6 days", "Closure|30 days|not shown"),
		"outcomes": rows("Substantiated|not shown", "Not substantiated|fewer than 5",
			"Referred to the force's professional standards department|0", "Referred to another body|0",
			"Outside our remit|0", "Withdrawn by the reporter|0", "Total closed|not shown"),
		"past-deadline": rows("Not acknowledged by the acknowledge-by date|0",
			"Acknowledged, and no feedback by the feedback-by date|fewer than 5"),
	}
	for id, rows := range want {
		if got := tables[id].rows; !reflect.DeepEqual(got, rows) {
			t.Errorf("table %s:\n got  %q\n want %q", id, got, rows)
		}
	}
	if len(ids) != len(want) {
		t.Errorf("tables %v, want %d", ids, len(want))
	}

	t.Run("the charts draw no hidden count to its length", func(t *testing.T) {
		months := chartOf(t, page, "chart-months")
		if !strings.Contains(months, `role="img"`) || !strings.Contains(months, `<title id="chart-months-title">Bar chart of the reports received in 2025, by month`) {
			t.Errorf("the months chart has no accessible name:\n%s", months)
		}
		// Every shown month is 0: no bar has a height; March and June
		// are markers of the same small height, labelled * and <5.
		for _, m := range regexp.MustCompile(`<rect [^>]*class="chart-bar"[^>]*>`).FindAllString(months, -1) {
			if !strings.Contains(m, `height="0"`) {
				t.Errorf("a bar for a zero month has a height: %s", m)
			}
		}
		markers := regexp.MustCompile(`<rect [^>]*height="(\d+)" class="chart-marker"`).FindAllStringSubmatch(months, -1)
		if len(markers) != 2 || markers[0][1] != markers[1][1] {
			t.Errorf("markers of the months chart: %q", markers)
		}
		if !strings.Contains(months, `>*</text>`) || !strings.Contains(months, `>&lt;5</text>`) {
			t.Errorf("the markers are not labelled * and <5:\n%s", months)
		}
		outcomes := chartOf(t, page, "chart-outcomes")
		if n := strings.Count(outcomes, `class="chart-marker"`); n != 2 {
			t.Errorf("the outcomes chart has %d markers, want 2", n)
		}
		if strings.Contains(outcomes, ">5<") || strings.Contains(outcomes, ">1<") {
			t.Errorf("the outcomes chart gives a hidden count away:\n%s", outcomes)
		}
		if ch := chartOf(t, page, "chart-channels"); !strings.Contains(ch, `width="75%"`) || !strings.Contains(ch, `>12</text>`) {
			t.Errorf("the channel chart's one bar is not the longest, labelled 12:\n%s", ch)
		}
	})

	t.Run("the CSV holds the page's figures, line by line", func(t *testing.T) {
		res, body := get(t, ada.c, ts.URL+"/staff/stats.csv?year=2025")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			res.Header.Get("Content-Disposition") != `attachment; filename="candour-statistics-2025.csv"` {
			t.Fatalf("GET /staff/stats.csv: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
		}
		records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		must(t, err)
		wantRecords := [][]string{{"period", "table", "row", "column", "value"}}
		for _, id := range ids {
			tb := tables[id]
			for _, r := range tb.rows {
				for i, cell := range r[1:] {
					wantRecords = append(wantRecords, []string{"2025", tb.caption, r[0], tb.columns[i+1], cell})
				}
			}
		}
		if !reflect.DeepEqual(records, wantRecords) {
			t.Errorf("CSV:\n%q\nwant (from the page):\n%q", records, wantRecords)
		}
		if !strings.Contains(body, "2025,\"Reports received in 2025, by month\",June,Reports,fewer than 5\n") {
			t.Errorf("the CSV does not say June's count as the page does:\n%s", body)
		}
	})

	t.Run("another year is chosen by the year parameter, and only a year", func(t *testing.T) {
		_, page := get(t, ada.c, ts.URL+"/staff/stats?year=2024")
		_, tables := statsTables(t, page)
		if got := tables["received-by-month"].rows[11]; !reflect.DeepEqual(got, statsTableRow{"December", "fewer than 5"}) {
			t.Errorf("December 2024: %q", got)
		}
		if !strings.Contains(page, `<option value="2024" selected>2024</option>`) {
			t.Error("the year selector does not show 2024 chosen")
		}
		// No figures over several years: 2025's total (12) beside theirs
		// would give away 2024's count.
		for _, bad := range []string{"all", "1800", "2027", "twenty", "2025;DROP"} {
			if res, _ := get(t, ada.c, ts.URL+"/staff/stats?year="+url.QueryEscape(bad)); res.StatusCode != http.StatusBadRequest {
				t.Errorf("year=%s: %d, want 400", bad, res.StatusCode)
			}
			if res, _ := get(t, ada.c, ts.URL+"/staff/stats.csv?year="+url.QueryEscape(bad)); res.StatusCode != http.StatusBadRequest {
				t.Errorf("CSV with year=%s: %d, want 400", bad, res.StatusCode)
			}
		}
		if res, _ := get(t, ada.c, ts.URL+"/staff/stats?year=2026"); res.StatusCode != http.StatusOK {
			t.Errorf("next year: %d", res.StatusCode)
		}
	})
}

// enrolByLink enrols the account of an enrolment link (the path from
// /staff/enrol/ on is used, on the test server), returning its TOTP
// secret.
func enrolByLink(t *testing.T, ts *testServer, link string) string {
	t.Helper()
	i := strings.Index(link, "/staff/enrol/")
	if i < 0 {
		t.Fatalf("not an enrolment link: %q", link)
	}
	u := ts.URL + link[i:]
	c := client(t)
	res, page := get(t, c, u)
	m := secretRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("enrolment page: %d", res.StatusCode)
	}
	form := url.Values{"secret": {m[1]}, "password": {goodPassword}, "password2": {goodPassword}, "totp": {ts.code(t, m[1])}}
	if res, _ := post(t, c, u, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"); res.StatusCode != http.StatusOK {
		t.Fatalf("enrol: %d", res.StatusCode)
	}
	return m[1]
}

// chartOf is the SVG of the chart with that id.
func chartOf(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no chart %s", id)
	}
	return page[i : i+strings.Index(page[i:], "</svg>")]
}

// A channel or outcome named like a formula reaches the CSV as text: a
// spreadsheet would otherwise run it.
func TestStatisticsCSVDefusesFormulas(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	_, err := ts.DB.AddOutcome(ctx, `=HYPERLINK("http://evil.example","x")`)
	must(t, err)
	_, err = ts.DB.AddOutcome(ctx, "+1+1")
	must(t, err)
	_, err = ts.DB.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "@SUM(A1)"}})
	must(t, err)
	ada := newDeadlineStaff(t, ts, "ada", storage.RoleAdmin)
	_, body := get(t, ada.c, ts.URL+"/staff/stats.csv")
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	must(t, err)
	seen := map[string]bool{}
	for _, r := range records[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("a cell begins with a formula character: %q", cell)
			}
		}
		seen[r[2]] = true
	}
	for _, want := range []string{`'=HYPERLINK("http://evil.example","x")`, "'+1+1", "'@SUM(A1)"} {
		if !seen[want] {
			t.Errorf("no row %q in the CSV:\n%s", want, body)
		}
	}
	// The page shows the names as they are, escaped.
	_, page := get(t, ada.c, ts.URL+"/staff/stats")
	if !strings.Contains(page, `<th scope="row">=HYPERLINK(&#34;http://evil.example&#34;,&#34;x&#34;)</th>`) {
		t.Error("the page does not show the outcome's label as typed")
	}
}

// staffRoutePaths lists every route of routes.go under /staff, as
// "METHOD /path" with its parameters filled in from fill.
func staffRoutePaths(t *testing.T, fill map[string]string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "routes.go", nil, 0)
	must(t, err)
	prefix := map[string]string{"app": ""}
	var out []string
	param := regexp.MustCompile(`:([a-z]+)(<[a-z]+>)?`)
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if call, ok := n.Rhs[0].(*ast.CallExpr); ok && len(n.Lhs) == 1 {
				if recv, method, ok := methodCall(call); ok && method == "Group" {
					p, _ := strconv.Unquote(call.Args[0].(*ast.BasicLit).Value)
					prefix[n.Lhs[0].(*ast.Ident).Name] = strings.TrimSuffix(prefix[recv], "/") + p
				}
			}
		case *ast.CallExpr:
			recv, method, ok := methodCall(n)
			if !ok || (method != "Get" && method != "Post") {
				return true
			}
			base, ok := prefix[recv]
			lit, isLit := n.Args[0].(*ast.BasicLit)
			if !ok || !isLit || !strings.HasPrefix(base, "/staff") {
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			full := path.Clean(strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(p, "/"))
			if p == "/" {
				full = base + "/"
			}
			full = param.ReplaceAllStringFunc(full, func(m string) string {
				return fill[param.FindStringSubmatch(m)[1]]
			})
			out = append(out, strings.ToUpper(method)+" "+full)
		}
		return true
	})
	if len(out) < 40 {
		t.Fatalf("found %d staff routes: the walk missed some", len(out))
	}
	return out
}

// A statistics-only account, invited by an administrator, lands on the
// statistics after logging in and reaches them and their CSV, and nothing
// else of the console: every other staff route of routes.go refuses it
// (a route added later too, unless it says otherwise), and it is in no
// channel. A caseworker cannot see the statistics.
func TestStatisticsAccountReachesOnlyTheStatistics(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	_, cs := submitCase(t, ts, "a report the statistics account must not reach")
	ada := newDeadlineStaff(t, ts, "ada", storage.RoleAdmin)

	// The administrator invites the account through the staff page.
	if _, page := get(t, ada.c, ts.URL+"/staff/admin/staff"); !strings.Contains(page, `<option value="statistics">Statistics only</option>`) {
		t.Fatal("the invitation form does not offer the statistics role")
	}
	res, body := ada.form(t, ts, "/staff/admin/invite", url.Values{"username": {"stella"}, "role": {"statistics"}})
	m := regexp.MustCompile(`id="enrolment-link">([^<]+)<`).FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("invite: %d", res.StatusCode)
	}
	link := html.UnescapeString(m[1])
	stella, err := ts.DB.StaffByUsername(ctx, "stella")
	must(t, err)
	if stella.Role != storage.RoleStatistics {
		t.Fatalf("invited with role %q", stella.Role)
	}
	if e := lastAudit(t, ts, "staff.invited"); e.Target != "stella" || e.Detail != "role statistics" {
		t.Errorf("audit: %+v", e)
	}
	if res, _ := ada.form(t, ts, "/staff/admin/invite", url.Values{"username": {"oscar"}, "role": {"owner"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown role: %d", res.StatusCode)
	}
	// It can be put in no channel and made no custodian.
	if res, _ := ada.form(t, ts, "/staff/admin/channels/1/members/add", url.Values{"staff": {strconv.FormatInt(stella.ID, 10)}}); res.StatusCode != http.StatusConflict {
		t.Errorf("adding it to a channel: %d", res.StatusCode)
	}
	if res, _ := ada.form(t, ts, "/staff/admin/custodian", url.Values{"id": {strconv.FormatInt(stella.ID, 10)}, "custodian": {"on"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("making it a custodian: %d", res.StatusCode)
	}
	if res, _ := ada.form(t, ts, "/staff/case/"+cs.Ref+"/assign", url.Values{"assignee": {strconv.FormatInt(stella.ID, 10)}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("assigning a case to it: %d", res.StatusCode)
	}
	if ok, _ := ts.DB.IsChannelMember(ctx, storage.DefaultChannel, stella.ID); ok {
		t.Fatal("the statistics account is in a channel")
	}

	// It enrols from its link and logs in.
	secret := enrolByLink(t, ts, link)
	ts.advance(31 * time.Second)
	c := client(t)
	res, _ = staffLogin(t, ts, c, "stella", goodPassword, ts.code(t, secret))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/stats" {
		t.Fatalf("login: %d to %q, want the statistics", res.StatusCode, res.Header.Get("Location"))
	}
	res, page := get(t, c, ts.URL+"/staff/stats")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `<a href="/staff/stats">Statistics</a>`) ||
		strings.Contains(page, `href="/staff/">Inbox`) || strings.Contains(page, `href="/staff/key"`) {
		t.Fatalf("the statistics page for the statistics account: %d\n%s", res.StatusCode, page)
	}
	csrf := csrfOf(t, page)
	if res, _ := get(t, c, ts.URL+"/staff/stats.csv"); res.StatusCode != http.StatusOK {
		t.Errorf("the CSV: %d", res.StatusCode)
	}
	if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/stats" {
		t.Errorf("the console's home: %d to %q, want the statistics", res.StatusCode, res.Header.Get("Location"))
	}

	open := map[string]bool{ // for anyone, or the account itself
		"GET /staff/login": true, "POST /staff/login": true, "GET /staff/enrol/x": true, "POST /staff/enrol/x": true,
		"GET /staff/stats": true, "GET /staff/stats.csv": true, "GET /staff/": true,
		"POST /staff/logout": true, "POST /staff/logout-everywhere": true,
		// Its own passkeys (a policy may require one of it), and
		// logging in with one.
		"POST /staff/login/passkey/options": true, "POST /staff/login/passkey": true,
		"GET /staff/passkeys": true, "POST /staff/passkeys/options": true, "POST /staff/passkeys": true,
		"POST /staff/passkeys/1/rename": true, "POST /staff/passkeys/1/remove": true,
		"POST /staff/enrol/x/passkey/options": true, "POST /staff/enrol/x/passkey": true,
	}
	for _, route := range staffRoutePaths(t, map[string]string{"ref": cs.Ref, "id": "1", "token": "x", "version": "1"}) {
		if open[route] {
			continue
		}
		t.Run(route+" refuses the statistics account", func(t *testing.T) {
			method, u, _ := strings.Cut(route, " ")
			req, err := http.NewRequest(method, ts.URL+u, strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
			must(t, err)
			if method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.Header.Set("Origin", ts.URL)
			res, body := do(t, c, req)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "Your account does not have access to this page.") {
				t.Errorf("%d\n%s", res.StatusCode, body)
			}
		})
	}
	if n := auditCount(t, ts, "case.view"); n != 0 {
		t.Errorf("%d case views in the audit trail", n)
	}

	// A caseworker sees no statistics; the statistics account logs out.
	c2, _ := loggedIn(t, ts, "carl", storage.RoleCaseworker)
	for _, p := range []string{"/staff/stats", "/staff/stats.csv"} {
		if res, _ := get(t, c2, ts.URL+p); res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a caseworker: %d", p, res.StatusCode)
		}
	}
	if _, page := get(t, c2, ts.URL+"/staff/"); strings.Contains(page, `href="/staff/stats"`) {
		t.Error("a caseworker's menu links to the statistics")
	}
	if res, _ := post(t, c, ts.URL+"/staff/logout", strings.NewReader("csrf="+url.QueryEscape(csrf)), "application/x-www-form-urlencoded"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", res.StatusCode)
	}
	if res, _ := get(t, c, ts.URL+"/staff/stats"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/login" {
		t.Errorf("after logout: %d", res.StatusCode)
	}
}
