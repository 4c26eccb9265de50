package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/candour/candour/storage"
)

// runAdmin handles `candour admin create`: the first administrator, made on
// the server's own machine, who then invites everyone else from the console.
func runAdmin(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "Usage: candour admin create [--data DIR | --database URL] --username NAME [--url BASE_URL]")
		return errUsage
	}
	fs := newFlags("admin create", "admin create [--data DIR | --database URL] --username NAME [--url BASE_URL]", stderr)
	dbFlags := addDatabaseFlags(fs, "the server's data `DIR`")
	username := fs.String("username", "", "the administrator's `NAME`")
	base := fs.String("url", "http://127.0.0.1:8080", "the address staff reach the service at, for the link")
	if err := parseFlags(fs, args[1:], false); err != nil {
		return err
	}
	if *username == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	if !storage.ValidUsername(*username) {
		return fmt.Errorf("invalid username %q: %s", *username, storage.UsernameRule)
	}
	d, err := dbFlags.resolve()
	if err != nil {
		return err
	}
	// Beside a running server, open the database as a tool: storage.Open
	// would delete the server's uploads in progress as leftovers. Before
	// the first start there is no database yet, and nothing runs.
	db, err := openToolOrCreate(d)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	// The account, its enrolment link and the audit entry commit together.
	var token string
	e := storage.AuditEntry{Actor: storage.ActorCLI, Action: "staff.invited", Target: *username, Detail: "role admin"}
	err = db.Change(ctx, &e, func(ctx context.Context) error {
		st, err := db.CreateStaff(ctx, *username, storage.RoleAdmin)
		if err != nil {
			return err
		}
		token, err = db.NewEnrolmentToken(ctx, st.ID)
		return err
	})
	if errors.Is(err, storage.ErrDuplicate) {
		return fmt.Errorf("a staff member called %q already exists", *username)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Administrator %q created. Open this link once, within %s, to set a password and 2FA:\n%s\n",
		*username, storage.EnrolmentTTL, storage.EnrolmentLink(*base, token))
	return nil
}

// runAudit handles `candour audit verify`: it walks the hash chain of the
// audit trail and reports the first entry that was edited, reordered or
// deleted.
func runAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "Usage: candour audit verify [--data DIR | --database URL]")
		return errUsage
	}
	fs := newFlags("audit verify", "audit verify [--data DIR | --database URL]", stderr)
	dbFlags := addDatabaseFlags(fs, "the server's data `DIR`")
	if err := parseFlags(fs, args[1:], false); err != nil {
		return err
	}
	d, err := dbFlags.resolve()
	if err != nil {
		return err
	}
	db, err := openReadOnly(d)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.VerifyAudit(context.Background()); err != nil {
		return fmt.Errorf("the audit trail FAILED verification: %w", err)
	}
	_, n, err := db.AuditPage(context.Background(), 0, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit trail intact: %d entries, each linked to the one before\n", n)
	return nil
}
