package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
)

// The identities of candour decrypt. Each -i file is one of:
//   - an identity file, as candour keygen, age-keygen or an age plugin
//     writes it: AGE-SECRET-KEY-… lines and AGE-PLUGIN-…-1… lines (a
//     security key's AGE-PLUGIN-FIDO2PRF-1… string, say), with # comments;
//   - an identity file encrypted to a passkey or security key (the file
//     the staff console's "Protect my key with a passkey" makes, issue 15):
//     an age file, armored or not, opened first through the age plugin
//     age-plugin-fido2prf with the plugin identities given (the
//     AGE-PLUGIN-FIDO2PRF-1… lines of other -i files, or -j fido2prf for
//     a passkey the authenticator finds by itself; -j fido2prf is assumed
//     when there are none), then used as an identity file.

// maxIdentityFile bounds what is read of an identity file: a few keys,
// or a wrapped one, fit many times over.
const maxIdentityFile = 1 << 20

// stringsFlag is a flag.Value that may be given more than once.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ", ") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// loadIdentities reads the identity files paths and the plugins named
// (-j) into identities for the export, unwrapping passkey-wrapped files
// with the plugins.
func loadIdentities(paths, plugins []string, stderr io.Writer) ([]age.Identity, error) {
	ui := plugin.NewTerminalUI(
		func(format string, v ...any) { fmt.Fprintf(stderr, format+"\n", v...) },
		func(format string, v ...any) { fmt.Fprintf(stderr, "warning: "+format+"\n", v...) },
	)
	var ids, unwrappers []age.Identity
	for _, name := range plugins {
		id, err := plugin.NewIdentityWithoutData(name, ui)
		if err != nil {
			return nil, fmt.Errorf("-j %s: %w", name, err)
		}
		unwrappers = append(unwrappers, id)
	}
	var wrapped []string
	for _, p := range paths {
		b, err := readIdentityFile(p)
		if err != nil {
			return nil, err
		}
		if isAgeFile(b) {
			wrapped = append(wrapped, p)
			continue
		}
		native, plugins, err := parseIdentityFile(b, ui)
		if err != nil {
			return nil, fmt.Errorf("failed to read identity %s: %w", p, err)
		}
		ids = append(ids, native...)
		unwrappers = append(unwrappers, plugins...)
	}
	if len(wrapped) > 0 && len(unwrappers) == 0 {
		id, err := plugin.NewIdentityWithoutData("fido2prf", ui)
		if err != nil {
			return nil, err
		}
		unwrappers = append(unwrappers, id)
	}
	for _, p := range wrapped {
		b, _ := readIdentityFile(p)
		text, err := unwrapIdentityFile(b, unwrappers)
		if err != nil {
			return nil, fmt.Errorf("failed to open the wrapped identity %s: %w", p, err)
		}
		native, _, err := parseIdentityFile(text, ui)
		if err != nil {
			return nil, fmt.Errorf("the wrapped identity %s holds no usable identity: %w", p, err)
		}
		ids = append(ids, native...)
	}
	if len(ids) == 0 {
		return nil, errors.New("no identity to decrypt with: give an identity file with -i")
	}
	return ids, nil
}

func readIdentityFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read identity %s: %w", p, err)
	}
	if len(b) > maxIdentityFile {
		return nil, fmt.Errorf("identity %s is larger than %d KiB: not an identity file", p, maxIdentityFile>>10)
	}
	return b, nil
}

// isAgeFile reports whether b is an age file (encrypted), armored or not,
// rather than an identity file.
func isAgeFile(b []byte) bool {
	t := bytes.TrimSpace(b)
	return bytes.HasPrefix(t, []byte("age-encryption.org/")) || bytes.HasPrefix(t, []byte(armor.Header))
}

// parseIdentityFile splits an identity file into native identities and
// plugin ones (AGE-PLUGIN-…).
func parseIdentityFile(b []byte, ui *plugin.ClientUI) (native, plugins []age.Identity, err error) {
	var rest strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxIdentityFile)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "AGE-PLUGIN-") {
			rest.WriteString(line + "\n")
			continue
		}
		id, err := plugin.NewIdentity(line, ui)
		if err != nil {
			// The line may be secret: say where, never what.
			return nil, nil, fmt.Errorf("malformed plugin identity at line %d", n)
		}
		plugins = append(plugins, id)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if strings.Contains(strings.ToUpper(rest.String()), "AGE-SECRET-KEY-") {
		if native, err = age.ParseIdentities(strings.NewReader(rest.String())); err != nil {
			return nil, nil, err
		}
	} else if len(plugins) == 0 {
		return nil, nil, errors.New("no identity found")
	}
	return native, plugins, nil
}

// unwrapIdentityFile decrypts a wrapped identity file with the plugin
// identities, saying plainly when the plugin is not installed.
func unwrapIdentityFile(b []byte, unwrappers []age.Identity) ([]byte, error) {
	var r io.Reader = bytes.NewReader(bytes.TrimSpace(b))
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(armor.Header)) {
		r = armor.NewReader(r)
	}
	out, err := age.Decrypt(r, unwrappers...)
	var missing *plugin.NotFoundError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("it needs the age plugin age-plugin-%s, which is not installed: install age-plugin-%s and put it on your PATH", missing.Name, missing.Name)
	}
	if err != nil {
		return nil, err
	}
	text, err := io.ReadAll(io.LimitReader(out, maxIdentityFile+1))
	if err != nil {
		return nil, err
	}
	if len(text) > maxIdentityFile {
		return nil, errors.New("it is too large to be an identity file")
	}
	return text, nil
}
