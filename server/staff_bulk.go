package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// maxBulkCases bounds the cases of one bulk action or console export: one
// page of the inbox, where they are ticked.
const maxBulkCases = inboxPageSize

// caseRefRE is the form of a case reference (crypto.NewCaseRef): two
// groups of four Crockford base-32 digits.
var caseRefRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

// errNoCaseSelected answers a bulk action or export with no case ticked.
func errNoCaseSelected(back string) *staffError {
	return &staffError{status: http.StatusBadRequest, title: "No case was selected",
		message: "Tick the box of each case to act on in the inbox, then choose the action again. Nothing was changed.", back: back}
}

// selectedCases resolves the cases a bulk form names (its "case" fields),
// all or nothing: each must be a case that the staff member may see (in
// its channel's team, not recused). One that is not is refused with the
// same answer as one that does not exist, naming neither.
func (s *Server) selectedCases(ctx context.Context, staffID int64, form url.Values, back string) ([]storage.Case, error) {
	refs := form["case"]
	if len(refs) == 0 {
		return nil, errNoCaseSelected(back)
	}
	if len(refs) > maxBulkCases {
		return nil, &staffError{status: http.StatusBadRequest, title: "Too many cases selected",
			message: fmt.Sprintf("Select at most %d cases (one page of the inbox) at a time. Nothing was changed.", maxBulkCases), back: back}
	}
	unknown := &staffError{status: http.StatusNotFound, title: "Not found",
		message: "A selected case does not exist or is not yours to see. Nothing was changed.", back: back}
	seen := make(map[string]bool, len(refs))
	cases := make([]storage.Case, 0, len(refs))
	for _, ref := range refs {
		if !caseRefRE.MatchString(ref) {
			return nil, unknown
		}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		cs, err := s.db.CaseByRef(ctx, ref)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, unknown
		}
		if err != nil {
			return nil, err
		}
		ok, err := s.db.CanSeeCase(ctx, cs, staffID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, unknown
		}
		cases = append(cases, cs)
	}
	return cases, nil
}

// changeEach applies change to each case and appends each one's audit
// entry, all in one transaction (storage.DB.Change): every case changes,
// or none does. The entries are those the single-case forms write, one per
// case, in the order of cases. A staffError of change is answered naming
// the case, with back as the way back.
func (s *Server) changeEach(ctx context.Context, actor string, cases []storage.Case, back string,
	change func(ctx context.Context, cs storage.Case) (action, detail string, err error)) error {
	last := len(cases) - 1
	e := storage.AuditEntry{Actor: actor, Target: cases[last].Ref}
	return s.db.Change(ctx, &e, func(ctx context.Context) error {
		for i, cs := range cases {
			action, detail, err := change(ctx, cs)
			if err != nil {
				var se *staffError
				if errors.As(err, &se) {
					return &staffError{status: se.status, title: se.title, message: "Case " + cs.Ref + ": " + se.message, back: back}
				}
				return fmt.Errorf("case %s: %w", cs.Ref, err)
			}
			if i == last {
				e.Action, e.Detail = action, detail
				continue
			}
			// Inside the change, this joins its transaction.
			if _, err := s.db.AppendAudit(ctx, storage.AuditEntry{Actor: actor, Action: action, Target: cs.Ref, Detail: detail}); err != nil {
				return err
			}
		}
		return nil
	})
}

// handleStaffBulk answers POST /staff/bulk: assigns the cases ticked in
// the inbox to one staff member (or no one), or sets their status, then
// goes back to the inbox with its filters and says what was done. It is
// all or nothing: every case must be visible to the one acting and the
// action valid for every case, or nothing changes. Closing is not offered
// in bulk: each closure needs its own outcome and explanation.
func (s *Server) handleStaffBulk(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	me := staffOf(c)
	back := staffBack(form.Get("back"))
	notice := url.Values{}
	var assignee int64
	switch action := form.Get("action"); action {
	case "assign":
		assignee, err = strconv.ParseInt(form.Get("assignee"), 10, 64)
		if err != nil || assignee < 0 {
			return badBulk(back, "Unknown staff member.")
		}
		notice.Set("to", strconv.FormatInt(assignee, 10))
	case "status":
		status := form.Get("status")
		if status == storage.StatusClosed {
			return badBulk(back, "Cases are closed one at a time, each with its outcome: use the Close form on the case's page.")
		}
		if !storage.ValidStatus(status) {
			return badBulk(back, "Unknown status.")
		}
		notice.Set("to", status)
	default:
		return badBulk(back, "Choose an action: assign, change the status or export.")
	}
	notice.Set("bulk", form.Get("action"))
	cases, err := s.selectedCases(ctx, me.ID, form, back)
	if err != nil {
		return err
	}
	change := func(ctx context.Context, cs storage.Case) (string, string, error) {
		return s.setStatus(ctx, cs, form)
	}
	if form.Get("action") == "assign" {
		if assignee != 0 {
			// The single-case form lets any active account be chosen; in
			// bulk, each case must be one the assignee can see, or it
			// would vanish from everyone's "assigned to" view but theirs.
			st, err := s.db.StaffByID(ctx, assignee)
			if err != nil || st.Disabled {
				return badBulk(back, "Unknown staff member.")
			}
			for _, cs := range cases {
				ok, err := s.db.CanSeeCase(ctx, cs, assignee)
				if err != nil {
					return err
				}
				if !ok {
					return badBulk(back, "%s cannot see case %s (not in its channel's team, or recused from it), so it cannot be assigned to them.",
						st.Username, cs.Ref)
				}
			}
		}
		change = func(ctx context.Context, cs storage.Case) (string, string, error) {
			return s.assign(ctx, cs, form)
		}
	}
	if err := s.changeEach(ctx, me.Username, cases, back, change); err != nil {
		return err
	}
	notice.Set("n", strconv.Itoa(len(cases)))
	return c.Redirect(withQuery(back, notice), http.StatusSeeOther)
}

// badBulk refuses a bulk form, with the way back to the inbox it came from.
func badBulk(back, format string, args ...any) *staffError {
	e := staffBadRequest(format, args...)
	e.back = back
	return e
}

// staffBack is where a form's "back" field says to return: a page of the
// staff console, given as a path and query ("/staff/?status=new"), or the
// inbox if it is anything else, so that it never leads off the console.
func staffBack(raw string) string {
	const inbox = "/staff/"
	if len(raw) > 2000 || !strings.HasPrefix(raw, inbox) || strings.ContainsAny(raw, "\\#") || strings.Contains(raw, "//") {
		return inbox
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, inbox) || strings.Contains(u.Path, "/..") {
		return inbox
	}
	return u.RequestURI()
}

// bulkNoticeKeys are the query fields that carry a bulk action's result
// (handleStaffBulk) or a selection (bulkForm): not filters, so not kept in
// the way back.
var bulkNoticeKeys = []string{"bulk", "n", "to", "select"}

// withQuery is the path-and-query back with the fields of add set, and
// any earlier result of a bulk action removed.
func withQuery(back string, add url.Values) string {
	u, err := url.Parse(back)
	if err != nil {
		return "/staff/"
	}
	q := u.Query()
	for _, k := range bulkNoticeKeys {
		q.Del(k)
	}
	for k, v := range add {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// bulkForm is what the inbox needs for its bulk actions (staff_inbox.html).
type bulkForm struct {
	// Back is this page of the inbox, with its filters, to come back to.
	Back string
	// SelectAll is set when every case of the page is to be ticked
	// (SelectAllURL: a link, so that it works without JavaScript);
	// ClearURL unticks them.
	SelectAll    bool
	SelectAllURL string
	ClearURL     string
	// Notice says what the bulk action just done did.
	Notice    string
	Assignees []storage.Staff
	Statuses  []statusOption
	Max       int
}

// bulkForm reads the inbox request c for its bulk actions: the way back,
// the selection, and the notice after a bulk action.
func (s *Server) bulkForm(c *fiber.Ctx) (bulkForm, error) {
	staff, err := s.db.ListStaff(c.UserContext())
	if err != nil {
		return bulkForm{}, err
	}
	active := make([]storage.Staff, 0, len(staff))
	for _, st := range staff {
		if !st.Disabled {
			active = append(active, st)
		}
	}
	back := withQuery("/staff/?"+string(c.Request().URI().QueryString()), nil)
	b := bulkForm{Back: back, SelectAll: c.Query("select") == "all", SelectAllURL: withQuery(back, url.Values{"select": {"all"}}),
		ClearURL: back, Assignees: active, Statuses: statusOptions(false), Max: maxBulkCases}
	n, err := strconv.Atoi(c.Query("n"))
	if err != nil || n < 1 || n > maxBulkCases {
		return b, nil
	}
	cases := "cases"
	if n == 1 {
		cases = "case"
	}
	switch to := c.Query("to"); c.Query("bulk") {
	case "assign":
		id, err := strconv.ParseInt(to, 10, 64)
		if err != nil || id < 0 {
			return b, nil
		}
		name := "no one"
		if id != 0 {
			st, err := s.db.StaffByID(c.UserContext(), id)
			if err != nil {
				return b, nil
			}
			name = st.Username
		}
		b.Notice = fmt.Sprintf("%d %s assigned to %s.", n, cases, name)
	case "status":
		if label, ok := statusLabels[to]; ok {
			b.Notice = fmt.Sprintf("%d %s set to %s.", n, cases, label)
		}
	}
	return b, nil
}
