package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
)

// runDecrypt decrypts an export offline, with no server and no network:
// each case becomes a folder with its messages as text files and its
// attachments under their original (made safe) names. Every ciphertext is
// checked against the manifest first, and every attachment against the
// SHA-256 its message recorded.
func runDecrypt(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("decrypt", "decrypt -i IDENTITY [-i IDENTITY…] [-j PLUGIN] [-o DIR] EXPORT_DIR", stderr)
	var idPaths, plugins stringsFlag
	fs.Var(&idPaths, "i", "age identity `FILE` (as made by candour keygen or age-keygen), or one wrapped by a passkey or security key; may be repeated (decrypt_identity.go)")
	fs.Var(&plugins, "j", "unwrap a passkey-wrapped identity with the age plugin `PLUGIN` and no identity string (fido2prf: a passkey found by the authenticator itself)")
	out := fs.String("o", "", "write decrypted files to `DIR` (default: EXPORT_DIR-decrypted)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if len(idPaths) == 0 || fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	export := filepath.Clean(fs.Arg(0))
	if *out == "" {
		*out = export + "-decrypted"
	}
	identities, err := loadIdentities(idPaths, plugins, stderr)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(export, "manifest.json"))
	if err != nil {
		return fmt.Errorf("not a Candour export: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil || m.Format != manifestFormat {
		return errors.New("not a Candour export: unreadable manifest")
	}
	if err := makeEmptyDir(*out); err != nil {
		return err
	}
	channelIDs, opened := openChannelKeys(export, m.ChannelKeys, identities)
	identities = append(identities, channelIDs...)
	if opened > 0 {
		fmt.Fprintf(stdout, "opened %d channel key(s) wrapped to this identity\n", opened)
	}
	var problems []string
	var nMsg, nAtt, nID int
	// The questionnaires the cases were asked with, checked and copied,
	// so that the decrypted folder is read with the questions' wording,
	// choices and translations at hand.
	definitions := map[string]string{} // by export path: the path written
	qUsed := map[string]bool{}
	for _, q := range m.Questionnaires {
		b, err := readChecked(export, ManifestFile{Path: q.Path, Size: q.Size, SHA256: q.SHA256})
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		name := uniqueName(qUsed, crypto.CleanAttachmentName(path.Base(q.Path)))
		if err := os.MkdirAll(filepath.Join(*out, "questionnaires"), 0o700); err != nil {
			return err
		}
		if err := writeNewFile(filepath.Join(*out, "questionnaires", name), b); err != nil {
			return err
		}
		definitions[q.Path] = "questionnaires/" + name
	}
	for _, c := range m.Cases {
		ref := crypto.CleanAttachmentName(c.Ref)
		if !filepath.IsLocal(ref) {
			problems = append(problems, fmt.Sprintf("case reference %q is not a safe folder name", c.Ref))
			continue
		}
		caseDir := filepath.Join(*out, ref)
		if err := os.MkdirAll(filepath.Join(caseDir, "attachments"), 0o700); err != nil {
			return err
		}
		byID := map[int64]ManifestFile{}
		for _, f := range c.Files {
			if f.Kind == "attachment" {
				byID[f.ID] = f
			}
		}
		used := map[string]bool{}
		answered := false
		var index strings.Builder
		fmt.Fprintf(&index, "Case %s\nStatus: %s\nReceived: %s\n", ref, oneLine(c.Status), c.Created.Format("2 January 2006"))
		if c.Questionnaire != "" {
			fmt.Fprintf(&index, "Questionnaire: %s", oneLine(c.Questionnaire))
			if p, ok := definitions[c.QuestionnaireFile]; ok {
				fmt.Fprintf(&index, " (its questions: ../%s)", p)
			}
			index.WriteString("\n")
		}
		index.WriteString("\n")
		for _, f := range c.Files {
			if f.Kind != "message" {
				continue
			}
			ct, err := readChecked(export, f)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			msg, err := crypto.OpenMessage(ct, identities...)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", f.Path, err))
				continue
			}
			nMsg++
			author := f.Author
			if author != "reporter" && author != "staff" {
				author = "unknown" // the manifest is untrusted input: never a path
			}
			// The attachments first, so that the answers can name the files
			// that answer a file question as they are written here.
			var attLines strings.Builder
			byQuestion := map[string][]answerFile{}
			for _, a := range msg.Attachments {
				af, ok := byID[a.ID]
				if !ok || af.MessageID != f.ID {
					problems = append(problems, fmt.Sprintf("%s names attachment %d, which is not in the export", f.Path, a.ID))
					continue
				}
				name := uniqueName(used, crypto.CleanAttachmentName(a.Name))
				written := answerFile{Path: "attachments/" + name}
				err := decryptAttachment(export, af, filepath.Join(caseDir, "attachments", name), a.SHA256, identities)
				if err != nil {
					problems = append(problems, err.Error())
					written.Problem = "not decrypted or not verified: see the problems reported"
				}
				if a.Question != "" {
					byQuestion[a.Question] = append(byQuestion[a.Question], written)
				}
				if err != nil {
					continue
				}
				nAtt++
				fmt.Fprintf(&attLines, "\nAttachment: %s\n  type: %s\n  size: %d bytes\n  sha256: %s\n",
					written.Path, oneLine(a.Type), a.Size, oneLine(a.SHA256))
				if a.Question != "" {
					fmt.Fprintf(&attLines, "  answers the question: %s\n", oneLine(questionLabel(msg.Answers, a.Question)))
				}
			}
			var text strings.Builder
			fmt.Fprintf(&text, "From: %s\nDate: %s (to the day)\n\n", author, f.Created.Format("2 January 2006"))
			if msg.Answers != nil {
				// answers.json as sealed, and answers.txt to read; only a
				// first message has answers, but keep any other's too.
				base := "answers"
				if answered {
					base = fmt.Sprintf("answers-%d", f.ID)
				}
				answered = true
				b, err := answersJSON(msg.Answers)
				if err != nil {
					return err
				}
				if err := writeNewFile(filepath.Join(caseDir, base+".json"), b); err != nil {
					return err
				}
				var readable strings.Builder
				writeAnswers(&readable, msg.Answers, byQuestion)
				if err := writeNewFile(filepath.Join(caseDir, base+".txt"), []byte(readable.String())); err != nil {
					return err
				}
				text.WriteString(readable.String())
				text.WriteString("\n")
			}
			fmt.Fprintf(&text, "%s\n", terminalText(msg.Text))
			text.WriteString(attLines.String())
			name := fmt.Sprintf("message-%d-%s.txt", f.ID, author)
			if err := writeNewFile(filepath.Join(caseDir, name), []byte(text.String())); err != nil {
				return err
			}
			fmt.Fprintf(&index, "%s  %s\n", f.Created.Format("2006-01-02"), name)
		}
		if c.Identity != nil {
			switch ok, err := decryptIdentity(export, *c.Identity, filepath.Join(caseDir, "identity.json"), identities); {
			case err != nil:
				problems = append(problems, err.Error())
			case ok:
				nID++
				fmt.Fprintf(&index, "identity details (given in confidence): identity.json\n")
			}
		}
		if err := writeNewFile(filepath.Join(caseDir, "case.txt"), []byte(index.String())); err != nil {
			return err
		}
	}
	if nID > 0 {
		fmt.Fprintf(stdout, "decrypted the identity details of %d cases (this identity is a custodian's)\n", nID)
	}
	fmt.Fprintf(stdout, "decrypted %d messages and %d attachments from %d cases to %s\n", nMsg, nAtt, len(m.Cases), *out)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "problem: %s\n", p)
		}
		return fmt.Errorf("%d items could not be decrypted or failed an integrity check", len(problems))
	}
	return nil
}

// answersJSON encodes answers as sealed, indented, with <, > and & as
// they are (the file is read, never put into a page).
func answersJSON(a *crypto.Answers) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(a); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// questionLabel is the label of the answered question id, or id.
func questionLabel(a *crypto.Answers, id string) string {
	if a != nil {
		for _, it := range a.Items {
			if it.ID == id && it.Label != "" {
				return it.Label
			}
		}
	}
	return id
}

// exportPath resolves a manifest path inside the export, refusing any that
// would step outside it.
func exportPath(export, rel string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", fmt.Errorf("manifest path %q leaves the export", rel)
	}
	return filepath.Join(export, filepath.FromSlash(rel)), nil
}

// openChannelKeys returns the channel identities that identities open: the
// wraps of the channels the holder is a member of (docs/channels.md). The
// others' wraps are skipped without a word, as are wraps that do not
// match the manifest or hold no identity: the cases they would open are
// then reported as not decrypting.
func openChannelKeys(export string, keys []ManifestChannelKey, identities []age.Identity) ([]age.Identity, int) {
	var out []age.Identity
	for _, k := range keys {
		ct, err := readChecked(export, ManifestFile{Path: k.Path, Size: k.Size, SHA256: k.SHA256})
		if err != nil {
			continue
		}
		r, err := age.Decrypt(bytes.NewReader(ct), identities...)
		if err != nil {
			continue
		}
		ids, err := age.ParseIdentities(io.LimitReader(r, 64<<10))
		if err != nil {
			continue
		}
		out = append(out, ids...)
	}
	return out, len(out)
}

func readChecked(export string, f ManifestFile) ([]byte, error) {
	p, err := exportPath(export, f.Path)
	if err != nil {
		return nil, err
	}
	if f.Size > crypto.MaxMessageSize {
		return nil, fmt.Errorf("%s: too large for a message", f.Path)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
		return nil, fmt.Errorf("%s: SHA-256 does not match the manifest", f.Path)
	}
	return b, nil
}

func decryptAttachment(export string, f ManifestFile, dst, wantPlainSHA string, identities []age.Identity) error {
	p, err := exportPath(export, f.Path)
	if err != nil {
		return err
	}
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	// Check the ciphertext against the manifest before decrypting.
	h := sha256.New()
	if _, err := io.Copy(h, src); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%s: SHA-256 does not match the manifest", f.Path)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r, err := age.Decrypt(src, identities...)
	if err != nil {
		return fmt.Errorf("%s: %v", f.Path, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	ph := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, ph), r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("%s: %v", f.Path, err)
	}
	if got := hex.EncodeToString(ph.Sum(nil)); got != wantPlainSHA {
		// Keep it for inspection, but never under a name that passes for
		// the genuine evidence.
		if err := os.Rename(dst, dst+".UNVERIFIED"); err != nil {
			os.Remove(dst)
		}
		return fmt.Errorf("%s: decrypted bytes do not match the SHA-256 recorded at submission (kept as %s.UNVERIFIED)",
			f.Path, filepath.Base(dst))
	}
	return nil
}

// uniqueName returns name, or name with a counter before its extension if a
// file of that name was already written.
func uniqueName(used map[string]bool, name string) string {
	candidate := name
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 2; used[strings.ToLower(candidate)]; i++ {
		candidate = fmt.Sprintf("%s (%d)%s", base, i, ext)
	}
	used[strings.ToLower(candidate)] = true
	return candidate
}

// decryptIdentity writes a case's identity details to dst if identities
// open them (a custodian's own key). Most identities are not a custodian's:
// that is not a problem, and ok is false.
func decryptIdentity(export string, f ManifestFile, dst string, identities []age.Identity) (ok bool, err error) {
	ct, err := readChecked(export, f)
	if err != nil {
		return false, err
	}
	r, err := age.Decrypt(bytes.NewReader(ct), identities...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %v", f.Path, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return false, fmt.Errorf("%s: %v", f.Path, err)
	}
	var d struct {
		V       int    `json:"v"`
		Name    string `json:"name,omitempty"`
		Contact string `json:"contact,omitempty"`
		Role    string `json:"role,omitempty"`
	}
	if err := json.Unmarshal(plain, &d); err != nil || d.V != 1 {
		return false, fmt.Errorf("%s: not identity details this version reads", f.Path)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return false, err
	}
	return true, writeNewFile(dst, append(b, '\n'))
}
