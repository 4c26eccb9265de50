package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"
)

// runKeygen writes a new age identity in age-keygen's format: post-quantum
// hybrid by default, classic X25519 with --classic. With -y it instead
// prints the recipient (public key) of each identity in an identity file, as
// age-keygen -y does.
func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", "keygen [-o FILE] [--classic]\n       candour keygen -y [-o FILE] [IDENTITY_FILE]", stderr)
	out := fs.String("o", "", "write the identity (or with -y the recipients) to `FILE` (created with mode 0600, never overwritten) instead of standard output")
	classic := fs.Bool("classic", false, "make a classic X25519 key instead of a post-quantum one")
	convert := fs.Bool("y", false, "print the public key of each identity in IDENTITY_FILE (standard input if none or -), one per line, as age-keygen -y does")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *convert {
		if *classic || fs.NArg() > 1 {
			fs.Usage()
			return errUsage
		}
		return keygenRecipients(fs.Arg(0), *out, os.Stdin, stdout)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	secret, public, err := generateIdentity(*classic)
	if err != nil {
		return err
	}
	text := identityFile(secret, public, "")
	if *out == "" {
		_, err := io.WriteString(stdout, text)
		return err
	}
	if err := writeNewFile(*out, []byte(text)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Public key: %s\n", public)
	return nil
}

// keygenRecipients writes the recipient of every identity in the identity
// file at path (stdin if path is "" or "-") to out (stdout if ""), one per
// line with no comments: age-keygen -y's output, which age -R reads. Errors
// never quote the file's content: it holds secret keys.
func keygenRecipients(path, out string, stdin io.Reader, stdout io.Writer) error {
	in := stdin
	if path != "" && path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("failed to open identity file: %w", err)
		}
		defer f.Close()
		in = f
	}
	ids, err := age.ParseIdentities(in)
	if err != nil {
		return fmt.Errorf("failed to read identities: %w", err)
	}
	var b strings.Builder
	for _, id := range ids {
		switch id := id.(type) {
		case *age.HybridIdentity:
			b.WriteString(id.Recipient().String())
		case *age.X25519Identity:
			b.WriteString(id.Recipient().String())
		default:
			return fmt.Errorf("unsupported identity type %T", id)
		}
		b.WriteByte('\n')
	}
	if out == "" {
		_, err := io.WriteString(stdout, b.String())
		return err
	}
	return writeNewFile(out, []byte(b.String()))
}

func generateIdentity(classic bool) (secret, public string, err error) {
	if classic {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return "", "", err
		}
		return id.String(), id.Recipient().String(), nil
	}
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		return "", "", err
	}
	return id.String(), id.Recipient().String(), nil
}

// identityFile is an identity in age-keygen's layout, with optional extra
// comment lines first.
func identityFile(secret, public, comment string) string {
	return fmt.Sprintf("%s# created: %s\n# public key: %s\n%s\n",
		comment, time.Now().Format(time.RFC3339), public, secret)
}

// writeNewFile creates path with mode 0600 and fails if it exists.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
