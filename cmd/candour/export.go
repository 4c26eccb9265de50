package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// manifestFormat names the layout of an export, for readers of the manifest.
const manifestFormat = "candour-export/1"

// Manifest describes an export: every case, and every file in it with the
// SHA-256 of its ciphertext, so that an export can be checked before it is
// decrypted and its integrity shown later.
type Manifest struct {
	Format  string         `json:"format"`
	Created time.Time      `json:"created"`
	Cases   []ManifestCase `json:"cases"`
	// ChannelKeys are the channels' identities, each generation wrapped
	// to each member (docs/channels.md): a member's own identity opens
	// their wraps, and the identities inside open the cases.
	ChannelKeys []ManifestChannelKey `json:"channel_keys,omitempty"`
	// Questionnaires are the definitions of the questionnaire versions
	// the cases were asked with (ManifestCase.Questionnaire), each once.
	Questionnaires []ManifestQuestionnaire `json:"questionnaires,omitempty"`
}

// ManifestQuestionnaire is one version of a questionnaire: its definition
// as stored (frontend.Questionnaire's JSON, not encrypted: it is what the
// report form shows everyone) in the file at Path. Ref is how cases name it.
type ManifestQuestionnaire struct {
	Ref     string `json:"ref"` // "<id>@<version>", as ManifestCase.Questionnaire
	ID      string `json:"id"`  // "police-conduct" (built in) or "channel-<id>"
	Version int    `json:"version"`
	Path    string `json:"path"` // "questionnaires/<id>-v<version>.json"
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
}

// ManifestChannelKey is one generation of one channel's identity, wrapped
// to one member, in the file at Path (a standard age file).
type ManifestChannelKey struct {
	Channel    int64  `json:"channel"`
	Generation int    `json:"generation"`
	Recipient  string `json:"recipient"`
	Member     string `json:"member"`
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
}

// ManifestCase is one case in an export, in the folder named Ref.
type ManifestCase struct {
	Ref       string    `json:"ref"`
	Status    string    `json:"status"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	Recipient string    `json:"case_recipient"`
	// Channel is the channel the case was sent to, and ChannelGeneration
	// the generation of its key the first message is encrypted to (0:
	// none; later messages may be to later generations).
	Channel           int64 `json:"channel"`
	ChannelGeneration int   `json:"channel_generation,omitempty"`
	// Questionnaire is the questionnaire version the case was asked with,
	// "<id>@<version>" ("police-conduct@1", "channel-3@2"), or absent for
	// a case from before cases recorded it. QuestionnaireFile is the path
	// of its definition in the export, absent if it is not known.
	Questionnaire     string         `json:"questionnaire,omitempty"`
	QuestionnaireFile string         `json:"questionnaire_file,omitempty"`
	Files             []ManifestFile `json:"files"`
	// Identity is the reporter's confidential identity details, if they
	// gave any: an age file to the custodians' own keys only (see
	// docs/confidential-identity.md), at identity/case-REF.age.
	Identity *ManifestFile `json:"identity,omitempty"`
}

// ManifestFile is one standard age file of a case.
type ManifestFile struct {
	Path      string    `json:"path"` // relative to the export folder
	Kind      string    `json:"kind"` // "message" or "attachment"
	ID        int64     `json:"id"`
	MessageID int64     `json:"message_id"`
	Author    string    `json:"author,omitempty"` // messages only
	Created   time.Time `json:"created,omitzero"` // messages only, to the day
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
}

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "export --data DIR --out DIR", stderr)
	data := fs.String("data", "data", "the server's data `DIR`")
	out := fs.String("out", "", "write the export to `DIR` (must not exist, or be empty)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	if err := makeEmptyDir(*out); err != nil {
		return err
	}
	db, err := storage.OpenTool(*data)
	if err != nil {
		return err
	}
	defer db.Close()

	m := Manifest{Format: manifestFormat, Created: time.Now().UTC().Truncate(time.Second)}
	ctx := context.Background()
	var files int
	qs := &questionnaireWriter{out: *out, written: map[string]*ManifestQuestionnaire{}}
	err = db.View(ctx, func(v *storage.View) error {
		cases, err := v.Cases(ctx)
		if err != nil {
			return err
		}
		for _, c := range cases {
			mc := ManifestCase{Ref: c.Ref, Status: c.Status, Created: c.CreatedAt, Updated: c.UpdatedAt, Recipient: c.Recipient,
				Channel: c.ChannelID, ChannelGeneration: c.ChannelGeneration, Questionnaire: c.Questionnaire}
			if c.Questionnaire != "" {
				mq, err := qs.write(ctx, v, c.Questionnaire)
				if err != nil {
					return err
				}
				if mq != nil {
					mc.QuestionnaireFile = mq.Path
				} else {
					fmt.Fprintf(stderr, "case %s was asked questionnaire %q, whose definition is not stored: it is not in the export\n",
						c.Ref, c.Questionnaire)
				}
			}
			if err := os.Mkdir(filepath.Join(*out, c.Ref), 0o700); err != nil {
				return err
			}
			msgs, err := v.Messages(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, msg := range msgs {
				rel := filepath.Join(c.Ref, fmt.Sprintf("message-%d.age", msg.ID))
				sum, size, err := writeExportFile(filepath.Join(*out, rel), bytesReader(msg.Ciphertext))
				if err != nil {
					return err
				}
				mc.Files = append(mc.Files, ManifestFile{Path: filepath.ToSlash(rel), Kind: "message", ID: msg.ID,
					MessageID: msg.ID, Author: msg.Author, Created: msg.CreatedAt, Size: size, SHA256: sum})
				for _, a := range msg.Attachments {
					_, r, err := v.Attachment(ctx, a.ID)
					if err != nil {
						return err
					}
					rel := filepath.Join(c.Ref, fmt.Sprintf("attachment-%d.age", a.ID))
					sum, size, err := writeExportFile(filepath.Join(*out, rel), r)
					if err != nil {
						return err
					}
					if size != a.Size {
						return fmt.Errorf("attachment %d: stored size %d, read %d", a.ID, a.Size, size)
					}
					mc.Files = append(mc.Files, ManifestFile{Path: filepath.ToSlash(rel), Kind: "attachment", ID: a.ID,
						MessageID: msg.ID, Size: size, SHA256: sum})
				}
			}
			if err := exportIdentity(ctx, v, *out, c, &mc); err != nil {
				return err
			}
			files += len(mc.Files)
			if mc.Identity != nil {
				files++
			}
			m.Cases = append(m.Cases, mc)
		}
		wraps, err := v.ChannelKeyWraps(ctx)
		if err != nil {
			return err
		}
		for _, w := range wraps {
			dir := filepath.Join("channels", fmt.Sprintf("%d", w.ChannelID), fmt.Sprintf("generation-%d", w.Generation))
			if err := os.MkdirAll(filepath.Join(*out, dir), 0o700); err != nil {
				return err
			}
			rel := filepath.Join(dir, fmt.Sprintf("wrap-%d.age", w.StaffID))
			sum, size, err := writeExportFile(filepath.Join(*out, rel), bytesReader(w.Wrapped))
			if err != nil {
				return err
			}
			m.ChannelKeys = append(m.ChannelKeys, ManifestChannelKey{Channel: w.ChannelID, Generation: w.Generation,
				Recipient: w.Recipient, Member: w.Username, Path: filepath.ToSlash(rel), Size: size, SHA256: sum})
			files++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to export: %w", err)
	}
	m.Questionnaires = qs.list
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeNewFile(filepath.Join(*out, "manifest.json"), append(body, '\n')); err != nil {
		return err
	}
	if _, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: storage.ActorCLI, Action: "export",
		Detail: fmt.Sprintf("%d cases, %d files", len(m.Cases), files)}); err != nil {
		return fmt.Errorf("exported, but failed to record it in the audit trail: %w", err)
	}
	fmt.Fprintf(stdout, "exported %d cases (%d age files) to %s\n", len(m.Cases), files, *out)
	return nil
}

// questionnaireWriter writes each questionnaire version that cases name
// once, into the export's questionnaires folder.
type questionnaireWriter struct {
	out     string
	written map[string]*ManifestQuestionnaire // by ref; nil if not known
	list    []ManifestQuestionnaire
	builtin []byte // the built-in definition, once made
}

var channelQuestionnaire = regexp.MustCompile(`^channel-([1-9][0-9]{0,18})$`)

// write writes the definition of questionnaire ref ("<id>@<version>"),
// unless it is already written, and returns its manifest entry, or nil if
// the definition is not known: a ref that names neither the built-in
// questionnaire nor a stored version of a channel's.
func (w *questionnaireWriter) write(ctx context.Context, v *storage.View, ref string) (*ManifestQuestionnaire, error) {
	if mq, done := w.written[ref]; done {
		return mq, nil
	}
	w.written[ref] = nil
	id, ver, ok := strings.Cut(ref, "@")
	version, err := strconv.Atoi(ver)
	if !ok || err != nil || version < 1 {
		return nil, nil
	}
	var def []byte
	switch m := channelQuestionnaire.FindStringSubmatch(id); {
	case id == frontend.DefaultQuestionnaireID && version == frontend.DefaultQuestionnaireVersion:
		if w.builtin == nil {
			cat, err := frontend.LoadCatalogue()
			if err != nil {
				return nil, err
			}
			if w.builtin, err = frontend.DefaultQuestionnaire(cat).Definition(); err != nil {
				return nil, err
			}
		}
		def = w.builtin
	case m != nil:
		channel, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return nil, nil
		}
		sq, err := v.QuestionnaireVersion(ctx, channel, version)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		def = sq.Definition
	default:
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Join(w.out, "questionnaires"), 0o700); err != nil {
		return nil, err
	}
	rel := filepath.Join("questionnaires", fmt.Sprintf("%s-v%d.json", id, version))
	sum, size, err := writeExportFile(filepath.Join(w.out, rel), bytesReader(def))
	if err != nil {
		return nil, err
	}
	w.list = append(w.list, ManifestQuestionnaire{Ref: ref, ID: id, Version: version, Path: filepath.ToSlash(rel), Size: size, SHA256: sum})
	mq := w.list[len(w.list)-1]
	w.written[ref] = &mq
	return &mq, nil
}

// makeEmptyDir creates dir, or accepts it if it exists and is empty.
func makeEmptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

func writeExportFile(path string, r io.Reader) (sum string, size int64, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("failed to write %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// exportIdentity writes a case's identity details, if it has any, to
// identity/case-REF.age: a standard age file that a custodian opens with
// their own identity (`age -d -i my-key.txt identity/case-REF.age`).
func exportIdentity(ctx context.Context, v *storage.View, out string, c storage.Case, mc *ManifestCase) error {
	b, err := v.CaseIdentity(ctx, c.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "identity"), 0o700); err != nil {
		return err
	}
	rel := filepath.Join("identity", fmt.Sprintf("case-%s.age", c.Ref))
	sum, size, err := writeExportFile(filepath.Join(out, rel), bytesReader(b))
	if err != nil {
		return err
	}
	mc.Identity = &ManifestFile{Path: filepath.ToSlash(rel), Kind: "identity", Size: size, SHA256: sum}
	return nil
}
