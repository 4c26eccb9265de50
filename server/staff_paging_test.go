package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

// Page numbers in the audit trail are brought within [1, pages]: a huge
// one (which overflowed to the first page, labelled with the huge number),
// a negative one and garbage. (The inbox pages by cursor:
// inbox_cursor_test.go.)
func TestStaffPageNumbersAreClamped(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c, csrf := loggedIn(t, ts, "admin1", storage.RoleAdmin)
	for i := range 51 {
		res, _ := post(t, c, ts.URL+"/staff/admin/invite",
			strings.NewReader(url.Values{"csrf": {csrf}, "username": {fmt.Sprintf("user%d", i)}, "role": {"caseworker"}}.Encode()),
			"application/x-www-form-urlencoded")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("invite %d: %d", i, res.StatusCode)
		}
	}
	for _, base := range []string{"/staff/admin/audit?page="} {
		for _, tc := range []struct{ page, want string }{
			{"9223372036854775807", "Page 2 of 2."},
			{"99999999999999999999999", "Page 2 of 2."},
			{"3", "Page 2 of 2."},
			{"2", "Page 2 of 2."},
			{"1", "Page 1 of 2."},
			{"0", "Page 1 of 2."},
			{"-9223372036854775808", "Page 1 of 2."},
			{"-5", "Page 1 of 2."},
			{"abc", "Page 1 of 2."},
			{"", "Page 1 of 2."},
		} {
			res, page := get(t, c, ts.URL+base+url.QueryEscape(tc.page))
			if res.StatusCode != http.StatusOK || !strings.Contains(page, tc.want) {
				i := strings.Index(page, "Page ")
				t.Errorf("%s%s: status %d, pager %q, want %q", base, tc.page, res.StatusCode, page[max(i, 0):min(max(i, 0)+30, len(page))], tc.want)
			}
			if p := strings.Contains(page, "Older</a>"); p != (tc.want == "Page 1 of 2.") {
				t.Errorf("%s%s: link to older entries %v on %s", base, tc.page, p, tc.want)
			}
		}
	}
}
