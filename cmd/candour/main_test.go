package main_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/candour/candour/crypto"
	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // raw access, to tamper like an attacker
)

var candourBin string

// TestMain builds the real candour binary once; the tests drive it as an
// operator and a caseworker would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "candour-bin-")
	if err != nil {
		panic(err)
	}
	candourBin = filepath.Join(dir, "candour")
	build := exec.Command("go", "build", "-o", candourBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	// pgtest.Main stops the PostgreSQL cluster that tests on PostgreSQL
	// start.
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

func candour(t *testing.T, args ...string) string {
	t.Helper()
	cmd := onEngine(t, exec.Command(candourBin, args...))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("candour %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out) + stderr.String()
}

// stockAge finds the stock age command (installed by `make test`).
func stockAge(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("age")
	if err != nil {
		// `make tools` installs it here, for a plain `go test ./...`.
		p, err = filepath.Abs(filepath.Join("..", "..", ".bin", "age"))
		if _, serr := os.Stat(p); err != nil || serr != nil {
			t.Fatal("the stock age command is not installed: run the tests with `make test`, which installs it")
		}
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "v1.3") {
		t.Fatalf("need stock age v1.3.x for post-quantum keys, have %q", out)
	}
	return p
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve starts `candour serve` and waits until it answers.
func serve(t *testing.T, dataDir, recipients string) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(candourBin, "serve", "--addr", addr, "--data", dataDir, "--recipients", recipients,
		"--kdf-memory-mib", "8", "--kdf-time", "1", "--login-floor", "10ms")
	onEngine(t, cmd)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	waitFor(t, "the server to answer 200 on "+base+"/", func() (bool, error) {
		res, err := http.Get(base + "/")
		if err != nil {
			return false, err
		}
		res.Body.Close()
		return res.StatusCode == 200, fmt.Errorf("status %d", res.StatusCode)
	})
	return base
}

func form(t *testing.T, fields [][2]string, files map[string][]byte) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	for name, data := range files {
		w, err := mw.CreateFormFile("attachments", name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func do(t *testing.T, c *http.Client, method, u string, body io.Reader, ctype string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestRoundTrip: a report and a follow-up message with files go in through
// the web form; an export taken while the server runs decrypts with the
// stock age command and with candour decrypt, to the bytes that were sent.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ageBin := stockAge(t)
	for _, kind := range []string{"post-quantum", "classic"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			keyFile := filepath.Join(dir, "org-key.txt")
			args := []string{"keygen", "-o", keyFile}
			if kind == "classic" {
				args = append(args, "--classic")
			}
			out := candour(t, args...)
			pub := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "Public key:"))
			prefix := map[string]string{"post-quantum": "age1pq1", "classic": "age1"}[kind]
			if !strings.HasPrefix(pub, prefix) {
				t.Fatalf("keygen printed %q", out)
			}
			keyText, _ := os.ReadFile(keyFile)
			if !strings.Contains(string(keyText), "# public key: "+pub+"\n") {
				t.Fatal("identity file is not in age-keygen's format")
			}
			if st, _ := os.Stat(keyFile); st.Mode().Perm() != 0o600 {
				t.Fatalf("identity file mode %v, want 0600", st.Mode().Perm())
			}
			recipients := filepath.Join(dir, "recipients.txt")
			os.WriteFile(recipients, []byte("# the organisation\n\n"+pub+"\n"), 0o600)

			base := serve(t, filepath.Join(dir, "data"), recipients)
			photo := make([]byte, 2<<20+7)
			rand.Read(photo)
			chat := []byte("[21:04] PC A: <offensive message>\n")
			body, ctype := form(t, [][2]string{{"q_platform", "Microsoft Teams"}, {"q_when_from", "2024-03"}, {"q_when_to", "2024-05"},
				{"body", "Report text ünïcode"}}, map[string][]byte{"screenshot.png": photo})
			res, page := do(t, http.DefaultClient, "POST", base+"/report", body, ctype)
			m := regexp.MustCompile(`id="case-code">([^<]+)<`).FindStringSubmatch(page)
			if res.StatusCode != 200 || m == nil {
				t.Fatalf("submit: %d %s", res.StatusCode, page)
			}
			code := m[1]

			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			_, page = do(t, c, "POST", base+"/followup", strings.NewReader(url.Values{"code": {strings.ToLower(code)}}.Encode()),
				"application/x-www-form-urlencoded")
			csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
			if csrf == nil || !strings.Contains(page, "Report text ünïcode") {
				t.Fatalf("case page: %s", page)
			}
			body, ctype = form(t, [][2]string{{"csrf", csrf[1]}, {"body", "Follow-up text"}}, map[string][]byte{"chat.txt": chat})
			if res, page := do(t, c, "POST", base+"/case/message", body, ctype); !strings.Contains(page, "Follow-up text") {
				t.Fatalf("add message: %d %s", res.StatusCode, page)
			}

			// Export while the server runs.
			exp := filepath.Join(dir, "export")
			candour(t, "export", "--data", filepath.Join(dir, "data"), "--out", exp)
			var manifest struct {
				Cases []struct {
					Ref   string
					Files []struct {
						Path, Kind, SHA256 string
						Size               int64
					}
				}
			}
			raw, err := os.ReadFile(filepath.Join(exp, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			json.Unmarshal(raw, &manifest)
			if len(manifest.Cases) != 1 || len(manifest.Cases[0].Files) != 4 {
				t.Fatalf("manifest: %s", raw)
			}
			var plain [][]byte
			for _, f := range manifest.Cases[0].Files {
				ct, err := os.ReadFile(filepath.Join(exp, f.Path))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(ct)
				if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(ct)) != f.Size {
					t.Fatalf("%s does not match its manifest entry", f.Path)
				}
				if !bytes.HasPrefix(ct, []byte("age-encryption.org/v1\n")) {
					t.Fatalf("%s is not a standard age file", f.Path)
				}
				// Stock age, no Candour code at all.
				out, err := exec.Command(ageBin, "-d", "-i", keyFile, filepath.Join(exp, f.Path)).Output()
				if err != nil {
					t.Fatalf("stock age could not decrypt %s: %v", f.Path, err)
				}
				plain = append(plain, out)
			}
			joined := bytes.Join(plain, []byte("\n--\n"))
			for _, want := range [][]byte{[]byte(`"text":"Report text ünïcode"`), []byte(`"name":"screenshot.png"`),
				[]byte(`"text":"Follow-up text"`), photo, chat} {
				if !bytes.Contains(joined, want) {
					t.Errorf("stock age output lacks %.40q", want)
				}
			}

			// candour decrypt, offline.
			outDir := filepath.Join(dir, "plain")
			candour(t, "decrypt", "-i", keyFile, "-o", outDir, exp)
			caseDir := filepath.Join(outDir, manifest.Cases[0].Ref)
			if got, _ := os.ReadFile(filepath.Join(caseDir, "attachments", "screenshot.png")); !bytes.Equal(got, photo) {
				t.Error("candour decrypt: screenshot.png differs from what was sent")
			}
			if got, _ := os.ReadFile(filepath.Join(caseDir, "attachments", "chat.txt")); !bytes.Equal(got, chat) {
				t.Error("candour decrypt: chat.txt differs from what was sent")
			}
			texts, _ := filepath.Glob(filepath.Join(caseDir, "message-*.txt"))
			var all string
			for _, p := range texts {
				b, _ := os.ReadFile(p)
				all += string(b)
			}
			if !strings.Contains(all, "Report text ünïcode") || !strings.Contains(all, "Follow-up text") {
				t.Errorf("candour decrypt: messages lack the texts sent:\n%s", all)
			}
			// The answers to the intake questions: as answers.json, and as
			// text in the first message's file.
			for _, want := range []string{"Intake answers (police-conduct, version 1)\n",
				"\nWhen did it happen, roughly?: March 2024 to May 2024\n", "\nWhere were the messages posted?: Microsoft Teams\n"} {
				if !strings.Contains(all, want) {
					t.Errorf("candour decrypt: message text lacks %q:\n%s", want, all)
				}
			}
			raw, err = os.ReadFile(filepath.Join(caseDir, "answers.json"))
			if err != nil {
				t.Fatalf("candour decrypt wrote no answers.json: %v", err)
			}
			var answers crypto.Answers
			if err := json.Unmarshal(raw, &answers); err != nil || answers.Questionnaire != "police-conduct" || answers.Version != 1 ||
				len(answers.Items) != 2 || !reflect.DeepEqual(answers.Items[0], crypto.Answer{ID: "when", Type: "date_range", Label: "When did it happen, roughly?",
				Value: "2024-03 to 2024-05", From: "2024-03", To: "2024-05"}) {
				t.Errorf("answers.json = %s (%v)", raw, err)
			}
			if !strings.Contains(string(raw), "\n  \"questionnaire\"") {
				t.Errorf("answers.json is not indented: %s", raw)
			}
		})
	}
}

func TestDecryptDetectsTampering(t *testing.T) {
	t.Parallel()
	_, keyFile, exp := exportOneReport(t, map[string][]byte{"a.bin": []byte("evidence")})
	files, _ := filepath.Glob(filepath.Join(exp, "*", "attachment-*.age"))
	if len(files) != 1 {
		t.Fatalf("want one attachment, have %v", files)
	}
	b, _ := os.ReadFile(files[0])
	b[len(b)-1] ^= 1
	os.WriteFile(files[0], b, 0o600)
	cmd := exec.Command(candourBin, "decrypt", "-i", keyFile, exp)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "does not match the manifest") {
		t.Fatalf("tampered export: err %v, output %s", err, out)
	}
}

func TestServeRefusesMixedRecipients(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pq := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(candour(t, "keygen", "-o", filepath.Join(dir, "a"))), "Public key:"))
	cl := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(candour(t, "keygen", "--classic", "-o", filepath.Join(dir, "b"))), "Public key:"))
	r := filepath.Join(dir, "r.txt")
	os.WriteFile(r, []byte(pq+"\n"+cl+"\n"), 0o600)
	out, err := onEngine(t, exec.Command(candourBin, "serve", "--addr", freeAddr(t), "--data", filepath.Join(dir, "d"), "--recipients", r)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "mixes post-quantum") {
		t.Fatalf("mixed recipients: err %v, output %s", err, out)
	}
}

func TestServeDemoModeMakesLabelledKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(candourBin, "serve", "--addr", addr, "--data", filepath.Join(dir, "data"),
		"--demo-keys", filepath.Join(dir, "demo-keys"), "--kdf-memory-mib", "8")
	cmd.Env = append(os.Environ(), "CANDOUR_ORG_NAME=Env Watchdog")
	onEngine(t, cmd)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // if the wait below fails
	var page string
	waitFor(t, "the demo server to answer on "+addr, func() (bool, error) {
		res, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		page = string(b)
		return true, nil
	})
	cmd.Process.Kill()
	cmd.Wait() // the log buffer is complete, and no longer written to
	id, err := os.ReadFile(filepath.Join(dir, "demo-keys", "DEMO-identity.txt"))
	if err != nil || !strings.Contains(string(id), "DEMO KEY") || !strings.Contains(string(id), "AGE-SECRET-KEY-PQ-1") {
		t.Fatalf("demo identity: %v %q", err, id)
	}
	if !strings.Contains(logs.String(), "DEMO MODE") || !strings.Contains(logs.String(), "demo-keys") {
		t.Errorf("the log does not say where the demo keys are:\n%s", logs.String())
	}
	if !strings.Contains(page, "Demo installation") || !strings.Contains(page, "Env Watchdog") {
		t.Errorf("home page lacks the demo banner or the CANDOUR_ORG_NAME from the environment")
	}
	fmt.Fprint(io.Discard, page)
}

// TestDecryptTreatsTheManifestAsHostile: an export can be forged by anyone
// (the organisation's keys are public), so decrypt must never let a manifest
// field choose where a file is written.
func TestDecryptTreatsTheManifestAsHostile(t *testing.T) {
	t.Parallel()
	dir, keyFile, exp := exportOneReport(t, nil)

	raw, _ := os.ReadFile(filepath.Join(exp, "manifest.json"))
	escape := filepath.Join(dir, "ESCAPED")
	forged := strings.Replace(string(raw), `"author": "reporter"`, `"author": "/../../../../../../../../..`+escape+`"`, 1)
	if forged == string(raw) {
		t.Fatal("could not forge the manifest")
	}
	os.WriteFile(filepath.Join(exp, "manifest.json"), []byte(forged), 0o600)
	out := filepath.Join(dir, "plain")
	candour(t, "decrypt", "-i", keyFile, "-o", out, exp)
	if matches, _ := filepath.Glob(escape + "*"); len(matches) > 0 {
		t.Fatalf("decrypt wrote outside its folder: %v", matches)
	}
	if matches, _ := filepath.Glob(filepath.Join(out, "*", "message-*-unknown.txt")); len(matches) != 1 {
		t.Fatalf("the message with a forged author was not written safely: %v", matches)
	}
}

// exportOneReport runs a server on a new post-quantum key, submits one
// report with files, and exports it; it returns the temporary folder, the
// identity file and the export folder.
func exportOneReport(t *testing.T, files map[string][]byte) (dir, keyFile, exp string) {
	t.Helper()
	dir = t.TempDir()
	keyFile, recipients := newKey(t, dir)
	base := serve(t, filepath.Join(dir, "data"), recipients)
	body, ctype := form(t, [][2]string{{"body", "x"}}, files)
	if res, _ := do(t, http.DefaultClient, "POST", base+"/report", body, ctype); res.StatusCode != http.StatusOK {
		t.Fatalf("submit: %d", res.StatusCode)
	}
	exp = filepath.Join(dir, "export")
	candour(t, "export", "--data", filepath.Join(dir, "data"), "--out", exp)
	if out := candour(t, "audit", "verify", "--data", filepath.Join(dir, "data")); !strings.Contains(out, "intact: 1 entries") {
		t.Fatalf("the export was not recorded in the audit trail: %s", out)
	}
	return dir, keyFile, exp
}

func TestAdminCreateAndAuditVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	out := candour(t, "admin", "create", "--data", data, "--username", "root-admin", "--url", "https://report.example")
	if !regexp.MustCompile(`https://report\.example/staff/enrol/[A-Za-z0-9_-]{40,}`).MatchString(out) {
		t.Fatalf("admin create printed no enrolment link: %s", out)
	}
	if cmd := onEngine(t, exec.Command(candourBin, "admin", "create", "--data", data, "--username", "ROOT-admin")); cmd.Run() == nil {
		t.Fatal("a second account with the same name (in another case) was created")
	}
	if out := candour(t, "audit", "verify", "--data", data); !strings.Contains(out, "intact: 1 entries") {
		t.Fatalf("audit verify: %s", out)
	}
	// Tamper as an attacker with write access to the database would:
	// drop the append-only triggers and edit an entry.
	db := rawFolderDB(t, data)
	drop := `DROP TRIGGER audit_log_no_update`
	if onPostgres() {
		drop += ` ON audit_log`
	}
	for _, q := range []string{drop, `UPDATE audit_log SET target = 'someone-else'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	res, err := onEngine(t, exec.Command(candourBin, "audit", "verify", "--data", data)).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "FAILED") {
		t.Fatalf("audit verify missed an edited entry: %v %s", err, res)
	}
}

// newKey makes an organisation key with candour keygen and returns the
// identity file and a recipients file for it.
func newKey(t *testing.T, dir string) (keyFile, recipients string) {
	t.Helper()
	keyFile = filepath.Join(dir, "org-key.txt")
	pub := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(candour(t, "keygen", "-o", keyFile)), "Public key:"))
	recipients = filepath.Join(dir, "recipients.txt")
	if err := os.WriteFile(recipients, []byte(pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile, recipients
}

// submitReport sends a report and returns its case code.
func submitReport(t *testing.T, base, text string) string {
	t.Helper()
	body, ctype := form(t, [][2]string{{"body", text}}, nil)
	res, page := do(t, http.DefaultClient, "POST", base+"/report", body, ctype)
	m := regexp.MustCompile(`id="case-code">([^<]+)<`).FindStringSubmatch(page)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("submit: %d %s", res.StatusCode, page)
	}
	return m[1]
}

func TestBackupWhileServingThenRestore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")
	base := serve(t, data, recipients)
	code := submitReport(t, base, "a report worth backing up")

	// Reports keep arriving while the backup is taken.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				body, ctype := form(t, [][2]string{{"body", "arriving during the backup"}}, nil)
				if res, err := http.Post(base+"/report", ctype, body); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		}
	}()
	backup := filepath.Join(dir, "backup.db")
	out := candour(t, "backup", "--data", data, "--out", backup)
	close(stop)
	<-done
	if !strings.Contains(out, "Backup written") {
		t.Fatalf("backup: %s", out)
	}
	if st, err := os.Stat(backup); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", st, err)
	}
	if err := onEngine(t, exec.Command(candourBin, "backup", "--data", data, "--out", backup)).Run(); err == nil {
		t.Fatal("a backup overwrote an existing file")
	}

	// The backup is a SQLite database on either engine, restored as a
	// SQLite installation.
	restored := filepath.Join(dir, "restored")
	keepSQLite(t, restored)
	os.MkdirAll(restored, 0o700)
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(restored, "candour.db"), b, 0o600)
	base2 := serve(t, restored, recipients)
	jar, _ := cookiejar.New(nil)
	_, page := do(t, &http.Client{Jar: jar}, "POST", base2+"/followup",
		strings.NewReader(url.Values{"code": {code}}.Encode()), "application/x-www-form-urlencoded")
	if !strings.Contains(page, "a report worth backing up") {
		t.Fatalf("the restored service does not open the case: %s", page)
	}
	if out := candour(t, "audit", "verify", "--data", data); !strings.Contains(out, "intact") {
		t.Fatalf("audit: %s", out)
	}
}

// TestAdminCreateBesideARunningServerKeepsUploadsInProgress: the CLI must
// not take a live upload's stored chunks for a crash's leftovers.
func TestAdminCreateBesideARunningServerKeepsUploadsInProgress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, recipients := newKey(t, dir)
	data := filepath.Join(dir, "data")
	base := serve(t, data, recipients)

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan *http.Response, 1)
	go func() {
		res, err := http.Post(base+"/report", mw.FormDataContentType(), pr)
		if err != nil {
			pr.CloseWithError(err)
			done <- nil
			return
		}
		done <- res
	}()
	mw.WriteField("body", "a report with a large file")
	fw, _ := mw.CreateFormFile("attachments", "video.bin")
	chunk := make([]byte, 1<<20)
	rand.Read(chunk)
	for range 4 { // several chunks are stored, pending, on the server
		fw.Write(chunk)
	}
	// Wait until the server has stored some of them (in the chunk file,
	// or on PostgreSQL in attachment_chunks).
	var db *sql.DB
	count := `SELECT COUNT(*) FROM attachment_chunks`
	if onPostgres() {
		db = rawFolderDB(t, data)
	} else {
		var err error
		db, err = sql.Open("sqlite3", "file:"+filepath.Join(data, storage.ChunksFileName)+"?mode=ro&_busy_timeout=10000")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		count = `SELECT COUNT(*) FROM chunks`
	}
	waitFor(t, "the server to store two chunks of the upload in progress", func() (bool, error) {
		var n int
		err := db.QueryRow(count).Scan(&n)
		return n >= 2, err
	})
	candour(t, "admin", "create", "--data", data, "--username", "alice")
	for range 2 {
		fw.Write(chunk)
	}
	mw.Close()
	pw.Close()
	res := <-done
	if res == nil {
		t.Fatal("the upload failed")
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), `id="case-code"`) {
		t.Fatalf("the upload in progress was lost: %d", res.StatusCode)
	}
}
