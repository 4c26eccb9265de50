package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"filippo.io/age"
)

// runKeygen writes a new age identity in age-keygen's format: post-quantum
// hybrid by default, classic X25519 with --classic.
func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", "keygen [-o FILE] [--classic]", stderr)
	out := fs.String("o", "", "write the identity to `FILE` (created with mode 0600, never overwritten) instead of standard output")
	classic := fs.Bool("classic", false, "make a classic X25519 key instead of a post-quantum one")
	if err := parseFlags(fs, args, false); err != nil {
		return err
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
