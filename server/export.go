package server

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

// An export is a folder of standard age files and a manifest.json that
// lists them with the SHA-256 of each, so that it can be checked before it
// is decrypted and its integrity shown later. `candour export` writes one
// into a folder, and the staff console sends one as a zip download
// (staff_export.go); both go through WriteExport, so the zip holds the
// same paths and the same manifest as the folder would.

// ManifestFormat names the layout of an export, for readers of the manifest.
const ManifestFormat = "candour-export/1"

// Manifest describes an export: every case, and every file in it with the
// SHA-256 of its ciphertext.
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

// Files counts the age files of an export: messages, attachments,
// identity details and channel key wraps (not the questionnaire
// definitions, which are not encrypted).
func (m *Manifest) Files() int {
	n := len(m.ChannelKeys)
	for _, c := range m.Cases {
		n += len(c.Files)
		if c.Identity != nil {
			n++
		}
	}
	return n
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
	Ref    string `json:"ref"`
	Status string `json:"status"`
	// Outcome is the outcome category of a closed case (stored in clear
	// for the yearly figures); absent if the case is open.
	Outcome   string    `json:"outcome,omitempty"`
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

// ExportTarget is where WriteExport puts an export: a folder (DirTarget)
// or a zip archive (ZipTarget). Paths are slash-separated and relative to
// the export's root; WriteExport makes a folder before the files in it.
type ExportTarget interface {
	// Mkdir makes the folder rel, and any missing parents.
	Mkdir(rel string) error
	// Create starts the new file rel; it is complete once closed. Only
	// one file is open at a time.
	Create(rel string) (io.WriteCloser, error)
}

// DirTarget writes an export into a folder on disk (which should be
// empty): each file is new, readable by its owner only, and synced when
// closed.
type DirTarget string

func (d DirTarget) path(rel string) string { return filepath.Join(string(d), filepath.FromSlash(rel)) }

// Mkdir makes the folder rel.
func (d DirTarget) Mkdir(rel string) error { return os.MkdirAll(d.path(rel), 0o700) }

// Create creates the file rel, which must not exist.
func (d DirTarget) Create(rel string) (io.WriteCloser, error) {
	f, err := os.OpenFile(d.path(rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return syncedFile{f}, nil
}

// syncedFile is a file that is synced to disk when closed, so that an
// export reported written is written.
type syncedFile struct{ *os.File }

func (f syncedFile) Close() error {
	err := f.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

// ZipTarget writes an export into a zip archive as it goes. Files are
// stored, not compressed (age ciphertext does not compress), and stream
// through: nothing is held but the zip writer's own buffer, whatever the
// size of an attachment. Modified stamps every entry.
type ZipTarget struct {
	W        *zip.Writer
	Modified time.Time
}

// Mkdir adds the folder entry rel/.
func (z ZipTarget) Mkdir(rel string) error {
	h := &zip.FileHeader{Name: rel + "/", Method: zip.Store, Modified: z.Modified}
	h.SetMode(fs.ModeDir | 0o700)
	_, err := z.W.CreateHeader(h)
	return err
}

// Create starts the entry rel; it ends when the next one starts.
func (z ZipTarget) Create(rel string) (io.WriteCloser, error) {
	h := &zip.FileHeader{Name: rel, Method: zip.Store, Modified: z.Modified}
	h.SetMode(0o600)
	w, err := z.W.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	return nopCloser{w}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// ExportOptions choose what WriteExport writes.
type ExportOptions struct {
	// Cases are the ids of the cases to export; nil exports every case.
	// The channel key wraps and questionnaire definitions are then those
	// the chosen cases need: their channels' and their questionnaires'.
	Cases []int64
	// Identity adds each case's confidential identity details (an age file
	// to the custodians' own keys). The staff console leaves them out:
	// custodians hand them out one grant at a time (staff_identity*.go).
	Identity bool
	// Created stamps the manifest (to the second).
	Created time.Time
	// Warn, if set, is told of what an export lacks and why.
	Warn func(msg string)
}

// WriteExport writes an export of db's cases to t from one consistent
// snapshot, manifest.json last, and returns its manifest. A case's files
// are its messages and their attachments, as stored: ciphertext that only
// the holders of its keys can open.
func WriteExport(ctx context.Context, db *storage.DB, t ExportTarget, opt ExportOptions) (*Manifest, error) {
	m := &Manifest{Format: ManifestFormat, Created: opt.Created.UTC().Truncate(time.Second)}
	ew := &exportWriter{t: t, questionnaires: map[string]*ManifestQuestionnaire{}, dirs: map[string]bool{}}
	err := db.View(ctx, func(v *storage.View) error {
		var cases []storage.Case
		var err error
		if opt.Cases == nil {
			cases, err = v.Cases(ctx)
		} else {
			cases, err = v.CasesByID(ctx, opt.Cases)
		}
		if err != nil {
			return err
		}
		channels := map[int64]bool{}
		for _, c := range cases {
			mc, err := ew.writeCase(ctx, v, c, opt)
			if err != nil {
				return fmt.Errorf("case %s: %w", c.Ref, err)
			}
			m.Cases = append(m.Cases, mc)
			channels[c.ChannelID] = true
		}
		wraps, err := v.ChannelKeyWraps(ctx)
		if err != nil {
			return err
		}
		for _, w := range wraps {
			if opt.Cases != nil && !channels[w.ChannelID] {
				continue
			}
			dir := fmt.Sprintf("channels/%d/generation-%d", w.ChannelID, w.Generation)
			if err := ew.mkdir(dir); err != nil {
				return err
			}
			rel := fmt.Sprintf("%s/wrap-%d.age", dir, w.StaffID)
			sum, size, err := ew.file(rel, bytes.NewReader(w.Wrapped))
			if err != nil {
				return err
			}
			m.ChannelKeys = append(m.ChannelKeys, ManifestChannelKey{Channel: w.ChannelID, Generation: w.Generation,
				Recipient: w.Recipient, Member: w.Username, Path: rel, Size: size, SHA256: sum})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to export: %w", err)
	}
	if len(ew.missing) > 0 && opt.Warn != nil {
		for _, msg := range ew.missing {
			opt.Warn(msg)
		}
	}
	m.Questionnaires = ew.list
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, _, err := ew.file("manifest.json", bytes.NewReader(append(body, '\n'))); err != nil {
		return nil, fmt.Errorf("failed to export: %w", err)
	}
	return m, nil
}

// exportWriter writes the files of one export.
type exportWriter struct {
	t    ExportTarget
	dirs map[string]bool // made already
	// questionnaires holds, by ref, each definition written (nil if it is
	// not known); list is the same in the order written.
	questionnaires map[string]*ManifestQuestionnaire
	list           []ManifestQuestionnaire
	builtin        []byte   // the built-in definition, once made
	missing        []string // what the export lacks, for ExportOptions.Warn
}

func (ew *exportWriter) mkdir(rel string) error {
	if ew.dirs[rel] {
		return nil
	}
	if err := ew.t.Mkdir(rel); err != nil {
		return fmt.Errorf("failed to make %s: %w", rel, err)
	}
	ew.dirs[rel] = true
	return nil
}

// file writes r to the new file rel and returns the hex SHA-256 and size
// of what it wrote.
func (ew *exportWriter) file(rel string, r io.Reader) (sum string, size int64, err error) {
	w, err := ew.t.Create(rel)
	if err != nil {
		return "", 0, fmt.Errorf("failed to write %s: %w", rel, err)
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(w, h), r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("failed to write %s: %w", rel, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// writeCase writes one case's folder, its questionnaire's definition and,
// if asked, its identity details, and returns its manifest entry.
func (ew *exportWriter) writeCase(ctx context.Context, v *storage.View, c storage.Case, opt ExportOptions) (ManifestCase, error) {
	mc := ManifestCase{Ref: c.Ref, Status: c.Status, Created: c.CreatedAt, Updated: c.UpdatedAt, Recipient: c.Recipient,
		Channel: c.ChannelID, ChannelGeneration: c.ChannelGeneration, Questionnaire: c.Questionnaire}
	outcome, err := v.CaseOutcomeLabel(ctx, c.ID)
	if err != nil {
		return mc, err
	}
	mc.Outcome = outcome
	if c.Questionnaire != "" {
		mq, err := ew.questionnaire(ctx, v, c.Questionnaire)
		if err != nil {
			return mc, err
		}
		if mq != nil {
			mc.QuestionnaireFile = mq.Path
		} else {
			ew.missing = append(ew.missing, fmt.Sprintf("case %s was asked questionnaire %q, whose definition is not stored: it is not in the export",
				c.Ref, c.Questionnaire))
		}
	}
	if err := ew.mkdir(c.Ref); err != nil {
		return mc, err
	}
	msgs, err := v.Messages(ctx, c.ID)
	if err != nil {
		return mc, err
	}
	for _, msg := range msgs {
		rel := fmt.Sprintf("%s/message-%d.age", c.Ref, msg.ID)
		sum, size, err := ew.file(rel, bytes.NewReader(msg.Ciphertext))
		if err != nil {
			return mc, err
		}
		mc.Files = append(mc.Files, ManifestFile{Path: rel, Kind: "message", ID: msg.ID,
			MessageID: msg.ID, Author: msg.Author, Created: msg.CreatedAt, Size: size, SHA256: sum})
		for _, a := range msg.Attachments {
			_, r, err := v.Attachment(ctx, a.ID)
			if err != nil {
				return mc, err
			}
			rel := fmt.Sprintf("%s/attachment-%d.age", c.Ref, a.ID)
			sum, size, err := ew.file(rel, r)
			if err != nil {
				return mc, err
			}
			if size != a.Size {
				return mc, fmt.Errorf("attachment %d: stored size %d, read %d", a.ID, a.Size, size)
			}
			mc.Files = append(mc.Files, ManifestFile{Path: rel, Kind: "attachment", ID: a.ID,
				MessageID: msg.ID, Size: size, SHA256: sum})
		}
	}
	if opt.Identity {
		if err := ew.identity(ctx, v, c, &mc); err != nil {
			return mc, err
		}
	}
	return mc, nil
}

var channelQuestionnaireRE = regexp.MustCompile(`^channel-([1-9][0-9]{0,18})$`)

// questionnaire writes the definition of questionnaire ref
// ("<id>@<version>"), unless it is already written, and returns its
// manifest entry, or nil if the definition is not known: a ref that names
// neither the built-in questionnaire nor a stored version of a channel's.
func (ew *exportWriter) questionnaire(ctx context.Context, v *storage.View, ref string) (*ManifestQuestionnaire, error) {
	if mq, done := ew.questionnaires[ref]; done {
		return mq, nil
	}
	ew.questionnaires[ref] = nil
	id, ver, ok := strings.Cut(ref, "@")
	version, err := strconv.Atoi(ver)
	if !ok || err != nil || version < 1 {
		return nil, nil
	}
	var def []byte
	switch m := channelQuestionnaireRE.FindStringSubmatch(id); {
	case id == frontend.DefaultQuestionnaireID && version == frontend.DefaultQuestionnaireVersion:
		if ew.builtin == nil {
			cat, err := frontend.LoadCatalogue()
			if err != nil {
				return nil, err
			}
			if ew.builtin, err = frontend.DefaultQuestionnaire(cat).Definition(); err != nil {
				return nil, err
			}
		}
		def = ew.builtin
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
	if err := ew.mkdir("questionnaires"); err != nil {
		return nil, err
	}
	rel := fmt.Sprintf("questionnaires/%s-v%d.json", id, version)
	sum, size, err := ew.file(rel, bytes.NewReader(def))
	if err != nil {
		return nil, err
	}
	ew.list = append(ew.list, ManifestQuestionnaire{Ref: ref, ID: id, Version: version, Path: rel, Size: size, SHA256: sum})
	mq := ew.list[len(ew.list)-1]
	ew.questionnaires[ref] = &mq
	return &mq, nil
}

// identity writes a case's identity details, if it has any, to
// identity/case-REF.age: a standard age file that a custodian opens with
// their own identity (`age -d -i my-key.txt identity/case-REF.age`).
func (ew *exportWriter) identity(ctx context.Context, v *storage.View, c storage.Case, mc *ManifestCase) error {
	b, err := v.CaseIdentity(ctx, c.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := ew.mkdir("identity"); err != nil {
		return err
	}
	rel := fmt.Sprintf("identity/case-%s.age", c.Ref)
	sum, size, err := ew.file(rel, bytes.NewReader(b))
	if err != nil {
		return err
	}
	mc.Identity = &ManifestFile{Path: rel, Kind: "identity", Size: size, SHA256: sum}
	return nil
}
