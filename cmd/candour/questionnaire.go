package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/candour/candour/frontend"
	"github.com/candour/candour/storage"
)

const questionnaireUsage = `Usage:
  candour questionnaire show [--data DIR | --database URL] --channel ID [--version N]
  candour questionnaire set  [--data DIR | --database URL] --channel ID FILE.json`

// runQuestionnaire handles `candour questionnaire show|set`: a channel's
// intake questions as JSON (frontend.Questionnaire's definition), so that
// operators can keep them in version control. show prints a version (the
// newest by default; the built-in default while none is stored); set
// checks a definition and stores it as the channel's next version, with
// an audit entry. Earlier versions stay as they are: cases asked them
// still read as they were asked.
func runQuestionnaire(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "set") {
		fmt.Fprintln(stderr, questionnaireUsage)
		return errUsage
	}
	cmd := args[0]
	synopsis := "questionnaire show [--data DIR | --database URL] --channel ID [--version N]"
	if cmd == "set" {
		synopsis = "questionnaire set [--data DIR | --database URL] --channel ID FILE.json"
	}
	fs := newFlags("questionnaire "+cmd, synopsis, stderr)
	dbFlags := addDatabaseFlags(fs, "the server's data `DIR`")
	channel := fs.Int64("channel", 0, "the channel's `ID` (see the channels page of the staff console)")
	version := 0
	if cmd == "show" {
		fs.IntVar(&version, "version", 0, "the version `N` to show (default: the newest)")
	}
	if err := parseFlags(fs, args[1:], false); err != nil {
		return err
	}
	if *channel <= 0 || version < 0 || (cmd == "show" && fs.NArg() != 0) || (cmd == "set" && fs.NArg() != 1) {
		fs.Usage()
		return errUsage
	}
	d, err := dbFlags.resolve()
	if err != nil {
		return err
	}
	if cmd == "show" {
		return showQuestionnaire(d, *channel, version, stdout)
	}
	return setQuestionnaire(d, *channel, fs.Arg(0), stdout)
}

func showQuestionnaire(d database, channel int64, version int, stdout io.Writer) error {
	db, err := openReadOnly(d)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	if err := channelExists(ctx, db, channel); err != nil {
		return err
	}
	var sq storage.StoredQuestionnaire
	if version > 0 {
		sq, err = db.QuestionnaireVersion(ctx, channel, version)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("channel %d has no questionnaire version %d", channel, version)
		}
	} else {
		sq, err = db.Questionnaire(ctx, channel)
		if errors.Is(err, storage.ErrNotFound) {
			// The channel asks the built-in questionnaire.
			cat, err := frontend.LoadCatalogue()
			if err != nil {
				return err
			}
			def, err := frontend.DefaultQuestionnaire(cat).Definition()
			if err != nil {
				return err
			}
			_, err = stdout.Write(def)
			return err
		}
	}
	if err != nil {
		return err
	}
	def := sq.Definition
	if len(def) > 0 && def[len(def)-1] != '\n' {
		def = append(def, '\n')
	}
	_, err = stdout.Write(def)
	return err
}

func setQuestionnaire(d database, channel int64, file string, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(f, frontend.MaxDefinition+1))
	f.Close()
	if err != nil {
		return err
	}
	id := "channel-" + strconv.FormatInt(channel, 10)
	qn, err := frontend.ParseQuestionnaire(id, 0, raw)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	def, err := qn.Definition()
	if err != nil {
		return err
	}
	// Beside a running server, open the database as a tool (see admin.go).
	db, err := openTool(d)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	if err := channelExists(ctx, db, channel); err != nil {
		return err
	}
	newest := 0
	if sq, err := db.Questionnaire(ctx, channel); err == nil {
		newest = sq.Version
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	var saved int
	e := storage.AuditEntry{Actor: storage.ActorCLI, Action: "questionnaire.save", Target: fmt.Sprintf("channel %d", channel)}
	err = db.Change(ctx, &e, func(ctx context.Context) error {
		v, err := db.SaveQuestionnaire(ctx, channel, newest, def, 0)
		if err != nil {
			return err
		}
		saved = v
		e.Detail = fmt.Sprintf("version %d", v)
		return nil
	})
	if errors.Is(err, storage.ErrQuestionnaireChanged) {
		return errors.New("the questionnaire was saved by someone else meanwhile: nothing was stored; run the command again")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Stored version %d of channel %d's questionnaire (%s@%d).\n", saved, channel, id, saved)
	return nil
}

// channelExists says plainly when a channel id names none.
func channelExists(ctx context.Context, db *storage.DB, channel int64) error {
	if _, err := db.Channel(ctx, channel); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("there is no channel %d", channel)
	} else if err != nil {
		return err
	}
	return nil
}
