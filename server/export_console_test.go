package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

var (
	candourOnce sync.Once
	candourBin  string
	candourErr  error
)

// candourCLI builds the candour command (without the race detector) once
// for the tests that compare with what it writes.
func candourCLI(t *testing.T) string {
	t.Helper()
	candourOnce.Do(func() {
		dir, err := os.MkdirTemp("", "candour-cli-")
		if err != nil {
			candourErr = err
			return
		}
		candourBin = filepath.Join(dir, "candour")
		build := exec.Command("go", "build", "-o", candourBin, "github.com/candour/candour/cmd/candour")
		build.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := build.CombinedOutput(); err != nil {
			candourErr = err
			candourBin = string(out)
		}
	})
	if candourErr != nil {
		t.Fatalf("building candour: %v\n%s", candourErr, candourBin)
	}
	return candourBin
}

// consoleExport posts the console's export form for refs.
func consoleExport(t *testing.T, ts *testServer, c *http.Client, csrf string, refs ...string) (*http.Response, []byte) {
	t.Helper()
	res, body := staffPost(t, c, ts.URL+"/staff/export", url.Values{"csrf": {csrf}, "case": refs})
	return res, []byte(body)
}

// zipFiles reads a zip into its files' contents by path, and its folders.
func zipFiles(t *testing.T, b []byte) (files map[string][]byte, dirs []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	must(t, err)
	files = map[string][]byte{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			dirs = append(dirs, strings.TrimSuffix(f.Name, "/"))
			continue
		}
		r, err := f.Open()
		must(t, err)
		files[f.Name], err = io.ReadAll(r)
		must(t, err)
		r.Close()
	}
	return files, dirs
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// The console's export of a selection holds what `candour export` writes
// for those cases, byte for byte: the same paths, the same ciphertext, the
// same manifest entries (the outcome of a closed case included), and the
// key wraps of their channel only; but never the reporter's identity
// details, which custodians hand out one grant at a time. It is a zip
// download, never cached, and the audit trail has an entry for each case.
func TestConsoleExportMatchesTheCLIExport(t *testing.T) {
	t.Parallel()
	adjust, org := classicOrg(t)
	ts := startServer(t, adjust)
	ctx := context.Background()
	admin, adminCSRF := loggedIn(t, ts, "ada", storage.RoleAdmin)
	cora, csrf := loggedIn(t, ts, "cora", storage.RoleCaseworker)
	adaKey, coraKey := ownKey(t, ts, staffID(t, ts, "ada")), ownKey(t, ts, staffID(t, ts, "cora"))
	channelKey := addChannelKey(t, ts, storage.DefaultChannel, map[int64]*age.X25519Identity{
		staffID(t, ts, "ada"): adaKey, staffID(t, ts, "cora"): coraKey})

	// The first report comes with the reporter's identity details, for a
	// custodian: `candour export` has them, the console's export does not.
	for _, f := range []struct{ path, field string }{{"/staff/admin/channels/1/identity", "offer"}, {"/staff/admin/custodian", "custodian"}} {
		v := url.Values{"csrf": {adminCSRF}, f.field: {"on"}, "id": {strconv.FormatInt(staffID(t, ts, "ada"), 10)}}
		if res, body := staffPost(t, admin, ts.URL+f.path, v); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", f.path, res.StatusCode, body)
		}
	}
	evidence := bytes.Repeat([]byte("chat log line\n"), 40000) // several chunks
	if res, page := sendReport(t, ts, [][2]string{{"channel", "1"}, {"id_name", "Sgt Jane Doe"}, {"body", "The sergeant deleted the custody record."}},
		file{name: "chat.txt", ctype: "text/plain", r: bytes.NewReader(evidence)}); res.StatusCode != http.StatusOK {
		t.Fatalf("report with identity details: %d %s", res.StatusCode, page)
	}
	submit(t, ts, "A second report, to close.")
	submit(t, ts, "A third report, not exported.")
	// And one in another channel with a key of its own, not exported.
	other := newChannel(t, ts, admin, adminCSRF, "Kent")
	addMember(t, ts, admin, adminCSRF, other, staffID(t, ts, "ada"))
	addChannelKey(t, ts, other, map[int64]*age.X25519Identity{staffID(t, ts, "ada"): adaKey})
	if res, _ := sendReport(t, ts, [][2]string{{"channel", strconv.FormatInt(other, 10)}, {"body", "about Kent"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("report to Kent: %d", res.StatusCode)
	}
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 100)
	must(t, err)
	byText := map[string]string{}
	for _, c := range cases {
		msgs, err := ts.DB.Messages(ctx, c.ID)
		must(t, err)
		m, err := crypto.OpenMessage(msgs[0].Ciphertext, org)
		must(t, err)
		byText[m.Text] = c.Ref
	}
	first, second := byText["The sergeant deleted the custody record."], byText["A second report, to close."]
	closeCase(t, ts, cora, csrf, second, "1")
	outcome, err := ts.DB.OutcomeByID(ctx, 1)
	must(t, err)

	res, zipped := consoleExport(t, ts, cora, csrf, second, first)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("export: %d %s", res.StatusCode, zipped)
	}
	day := ts.now().UTC().Format("2006-01-02")
	for h, want := range map[string]string{"Content-Type": "application/zip", "Cache-Control": "no-store",
		"Content-Disposition": `attachment; filename="candour-export-` + day + `.zip"`} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	files, dirs := zipFiles(t, zipped)

	// The same cases, exported by the command line tool while the server runs.
	out := filepath.Join(t.TempDir(), "cli")
	if b, err := exec.Command(candourCLI(t), append([]string{"export", "--out", out}, ts.databaseArgs()...)...).CombinedOutput(); err != nil {
		t.Fatalf("candour export: %v %s", err, b)
	}
	var cli, got server.Manifest
	raw, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	must(t, err)
	must(t, json.Unmarshal(raw, &cli))
	must(t, json.Unmarshal(files["manifest.json"], &got))
	if got.Format != "candour-export/1" || got.Created.IsZero() {
		t.Errorf("manifest format %q created %v", got.Format, got.Created)
	}
	var refs []string
	for _, c := range got.Cases {
		refs = append(refs, c.Ref)
		i := slices.IndexFunc(cli.Cases, func(m server.ManifestCase) bool { return m.Ref == c.Ref })
		if i < 0 {
			t.Fatalf("case %s is not in the CLI's export", c.Ref)
		}
		want := cli.Cases[i]
		if c.Ref == first {
			if want.Identity == nil {
				t.Error("the CLI's export lacks the identity details")
			}
			want.Identity = nil
		}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("case %s in the console's manifest:\n%+v\nin the CLI's:\n%+v", c.Ref, c, want)
		}
	}
	slices.Sort(refs)
	if want := []string{first, second}; !slices.Equal(refs, slices.Sorted(slices.Values(want))) {
		t.Fatalf("exported %v, want %v", refs, want)
	}
	var wantKeys []server.ManifestChannelKey
	for _, k := range cli.ChannelKeys {
		if k.Channel == storage.DefaultChannel {
			wantKeys = append(wantKeys, k)
		}
	}
	if len(wantKeys) == 0 || !reflect.DeepEqual(got.ChannelKeys, wantKeys) {
		t.Errorf("channel keys %+v, want the default channel's %+v", got.ChannelKeys, wantKeys)
	}
	if !reflect.DeepEqual(got.Questionnaires, cli.Questionnaires) || len(got.Questionnaires) == 0 {
		t.Errorf("questionnaires %+v, want %+v", got.Questionnaires, cli.Questionnaires)
	}
	for _, c := range got.Cases {
		want := ""
		if c.Ref == second {
			want = outcome.Label
		}
		if c.Outcome != want || c.Identity != nil {
			t.Errorf("case %s: outcome %q (want %q), identity %v", c.Ref, c.Outcome, want, c.Identity)
		}
	}

	// Every file of the zip is the CLI's file at the same path, and is
	// listed in the manifest with its hash; the folders are the same.
	listed := map[string]string{}
	for _, c := range got.Cases {
		for _, f := range c.Files {
			listed[f.Path] = f.SHA256
		}
	}
	for _, k := range got.ChannelKeys {
		listed[k.Path] = k.SHA256
	}
	for _, q := range got.Questionnaires {
		listed[q.Path] = q.SHA256
	}
	for p, b := range files {
		if p == "manifest.json" {
			continue
		}
		disk, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(disk, b) {
			t.Errorf("%s differs from the CLI's export (%v)", p, err)
		}
		if listed[p] != sha(b) {
			t.Errorf("%s: manifest says %q, file hashes to %s", p, listed[p], sha(b))
		}
		delete(listed, p)
	}
	if len(listed) > 0 {
		t.Errorf("listed in the manifest, missing from the zip: %v", listed)
	}
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(out, filepath.FromSlash(d))); err != nil || !st.IsDir() {
			t.Errorf("folder %s is not in the CLI's export", d)
		}
	}
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || rel == "manifest.json" {
			return nil
		}
		inSelection := strings.HasPrefix(rel, first+"/") || strings.HasPrefix(rel, second+"/") ||
			strings.HasPrefix(rel, "questionnaires/") || strings.HasPrefix(rel, "channels/1/")
		if _, ok := files[rel]; ok != inSelection {
			t.Errorf("%s: in the zip %v, of the selection %v", rel, ok, inSelection)
		}
		return nil
	})

	// The report opens with the organisation's key and with the channel's,
	// and its attachment is the evidence.
	var report, attachment []byte
	for _, c := range got.Cases {
		if c.Ref != first {
			continue
		}
		for _, f := range c.Files {
			switch f.Kind {
			case "message":
				report = files[f.Path]
			case "attachment":
				attachment = files[f.Path]
			}
		}
	}
	for _, id := range []age.Identity{org, channelKey} {
		m, err := crypto.OpenMessage(report, id)
		if err != nil || m.Text != "The sergeant deleted the custody record." {
			t.Errorf("the exported report does not open: %v", err)
		}
	}
	if !bytes.Equal(decryptAll(t, bytes.NewReader(attachment), channelKey), evidence) {
		t.Error("the exported attachment is not the evidence")
	}

	// One audit entry per case, naming the cases exported together.
	want := []string{}
	for _, ref := range []string{second, first} {
		want = append(want, "cora "+ref+" zip download of 2 cases: "+second+" "+first)
	}
	if got := auditOf(t, ts, "case.export"); !slices.Equal(got, want) {
		t.Errorf("audit trail:\n%q\nwant\n%q", got, want)
	}
}

// Only the team a case is routed to may export it: a recused caseworker,
// or one outside the case's channel, gets the answer an unknown case gets
// and no zip, and nothing is audited; so does a request without the CSRF
// token, with no case, or with more than a page of cases. The case page
// offers the export to those who may.
func TestConsoleExportIsForTheCaseTeamOnly(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	refs := bulkCases(t, ts, 2)
	admin, adminCSRF := loggedIn(t, ts, "ada", storage.RoleAdmin)
	cora, csrf := loggedIn(t, ts, "cora", storage.RoleCaseworker)
	omar, omarCSRF := loggedIn(t, ts, "omar", storage.RoleCaseworker)

	_, page := get(t, cora, ts.URL+"/staff/case/"+refs[0])
	for _, want := range []string{`<form method="post" action="/staff/export" data-native id="export-form">`,
		`<input type="hidden" name="case" value="` + refs[0] + `">`, "Export this case"} {
		if !strings.Contains(page, want) {
			t.Errorf("the case page lacks %s", want)
		}
	}

	// Omar declares a conflict in refs[1]; a case of another channel.
	if res, _ := staffPost(t, omar, ts.URL+"/staff/case/"+refs[1]+"/recuse", url.Values{"csrf": {omarCSRF}, "reason": {"my cousin"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("recuse: %d", res.StatusCode)
	}
	elsewhere := caseElsewhere(t, ts, admin, adminCSRF)
	var tooMany []string
	for i := range 51 {
		tooMany = append(tooMany, refs[i%2])
	}
	_, unknown := consoleExport(t, ts, omar, omarCSRF, refs[0], "ZZZZ-ZZZZ")
	for _, tc := range []struct {
		name   string
		c      *http.Client
		csrf   string
		refs   []string
		status int
	}{
		{"a recused caseworker", omar, omarCSRF, []string{refs[0], refs[1]}, http.StatusNotFound},
		{"a recused caseworker, that case alone", omar, omarCSRF, refs[1:], http.StatusNotFound},
		{"a caseworker outside the channel", cora, csrf, []string{elsewhere}, http.StatusNotFound},
		{"no CSRF token", cora, "", refs[:1], http.StatusForbidden},
		{"no case", cora, csrf, nil, http.StatusBadRequest},
		{"more than a page of cases", cora, csrf, tooMany, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := consoleExport(t, ts, tc.c, tc.csrf, tc.refs...)
			if res.StatusCode != tc.status || res.Header.Get("Content-Type") == "application/zip" || bytes.Contains(body, []byte("age-encryption.org")) {
				t.Errorf("%d %s, want %d and no export", res.StatusCode, res.Header.Get("Content-Type"), tc.status)
			}
			if tc.status == http.StatusNotFound && (!bytes.Equal(body, unknown) && tc.c == omar) {
				t.Error("the refusal differs from that of a case that does not exist")
			}
		})
	}
	if got := auditOf(t, ts, "case.export"); len(got) != 0 {
		t.Errorf("refused exports were audited: %q", got)
	}
	// Being an administrator is not being in the team.
	if res, _ := consoleExport(t, ts, admin, adminCSRF, elsewhere); res.StatusCode != http.StatusNotFound {
		t.Errorf("an administrator outside the channel exported its case: %d", res.StatusCode)
	}
	// A member of the team may, one case from its page.
	res, body := consoleExport(t, ts, cora, csrf, refs[1])
	if res.StatusCode != http.StatusOK {
		t.Fatalf("cora's export: %d", res.StatusCode)
	}
	files, _ := zipFiles(t, body)
	if _, ok := files[refs[1]+"/message-"+strconv.FormatInt(firstMessageID(t, ts, refs[1]), 10)+".age"]; !ok {
		t.Errorf("the zip lacks the case's report: %v", slices.Collect(maps.Keys(files)))
	}
	if got := auditOf(t, ts, "case.export"); !slices.Equal(got, []string{"cora " + refs[1] + " zip download"}) {
		t.Errorf("audit trail: %q", got)
	}
}

func firstMessageID(t *testing.T, ts *testServer, ref string) int64 {
	t.Helper()
	cs, err := ts.DB.CaseByRef(context.Background(), ref)
	must(t, err)
	msgs, err := ts.DB.Messages(context.Background(), cs.ID)
	must(t, err)
	return msgs[0].ID
}
