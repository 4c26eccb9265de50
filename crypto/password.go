package crypto

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Staff passwords are hashed with Argon2id and stored in the PHC string
// format, which records the parameters with each hash:
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>
//
// so that the parameters can be raised later while old hashes keep
// verifying. Unlike case codes, each password has its own random salt: the
// username finds the row, so nothing needs to be computable from the
// password alone.
const (
	passwordTime      = 3
	passwordMemoryKiB = 64 * 1024
	passwordThreads   = 2
	passwordSaltLen   = 16
	passwordKeyLen    = 32

	// Bounds on what VerifyPassword will run, so that a hostile or corrupt
	// hash cannot make one login allocate gigabytes or spin for minutes.
	maxPasswordMemoryKiB = 1024 * 1024 // 1 GiB
	maxPasswordTime      = 64
	maxPasswordThreads   = 64
	maxPasswordSaltLen   = 64
	maxPasswordHashLen   = 256 // bytes of the whole encoding
)

var phcBase64 = base64.RawStdEncoding.Strict()

// ErrMalformedPasswordHash is returned by VerifyPassword for an encoding it
// cannot read or will not run. It never quotes the encoding.
var ErrMalformedPasswordHash = errors.New("malformed password hash")

// HashPassword returns the Argon2id hash of password, with a fresh random
// salt, in PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, passwordSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, passwordTime, passwordMemoryKiB, passwordThreads, passwordKeyLen)
	return encodePHC(passwordMemoryKiB, passwordTime, passwordThreads, salt, key), nil
}

func encodePHC(memoryKiB, time uint32, threads uint8, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, time, threads, phcBase64.EncodeToString(salt), phcBase64.EncodeToString(key))
}

// VerifyPassword reports whether password matches encoded, a hash made by
// HashPassword (possibly with other parameters). The keys are compared in
// constant time. An encoding that cannot be read, or whose parameters are
// out of bounds, is an error wrapping ErrMalformedPasswordHash, and
// verification is refused rather than run.
func VerifyPassword(encoded, password string) (bool, error) {
	p, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memoryKiB, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type phcArgon2id struct {
	memoryKiB, time uint32
	threads         uint8
	salt, key       []byte
}

// parsePHC reads only what encodePHC writes: fields in that order, decimal
// numbers without signs or leading zeros, unpadded base64. Being strict
// costs nothing, since every hash it will see was made here.
func parsePHC(encoded string) (phcArgon2id, error) {
	malformed := func(why string) (phcArgon2id, error) {
		return phcArgon2id{}, fmt.Errorf("%w: %s", ErrMalformedPasswordHash, why)
	}
	if len(encoded) > maxPasswordHashLen {
		return malformed("too long")
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return malformed("not in PHC string format")
	}
	if fields[1] != "argon2id" {
		return malformed("algorithm is not argon2id")
	}
	if v, ok := phcParam(fields[2], "v"); !ok || v != argon2.Version {
		return malformed("unsupported argon2 version")
	}
	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return malformed("parameters are not m, t and p")
	}
	m, okM := phcParam(params[0], "m")
	t, okT := phcParam(params[1], "t")
	p, okP := phcParam(params[2], "p")
	switch {
	case !okM || !okT || !okP:
		return malformed("parameters are not m, t and p")
	case p < 1 || p > maxPasswordThreads:
		return malformed("parallelism out of range")
	case t < 1 || t > maxPasswordTime:
		return malformed("time cost out of range")
	case m < 8*p || m > maxPasswordMemoryKiB: // Argon2 needs 8 KiB per lane
		return malformed("memory cost out of range")
	}
	salt, err := phcBase64.DecodeString(fields[4])
	if err != nil {
		return malformed("salt is not base64")
	}
	if len(salt) < passwordSaltLen || len(salt) > maxPasswordSaltLen {
		return malformed("salt length out of range")
	}
	key, err := phcBase64.DecodeString(fields[5])
	if err != nil {
		return malformed("hash is not base64")
	}
	if len(key) != passwordKeyLen {
		return malformed("hash length is wrong")
	}
	return phcArgon2id{memoryKiB: uint32(m), time: uint32(t), threads: uint8(p), salt: salt, key: key}, nil
}

// phcParam parses "name=decimal" into a number of at most 32 bits.
func phcParam(s, name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, name+"=")
	if !ok || digits == "" || len(digits) > 10 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	return n, err == nil
}

var (
	dummyHashOnce sync.Once
	dummyHash     string
)

// DummyPasswordHash returns the hash of a random password, made once per
// process with the current parameters. A login for an unknown username
// should verify against it, so that it costs the same Argon2id run as a
// known username and the response time does not reveal which usernames
// exist. No password matches it.
func DummyPasswordHash() string {
	dummyHashOnce.Do(func() {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			panic("crypto: reading random bytes: " + err.Error()) // crypto/rand does not fail
		}
		h, err := HashPassword(phcBase64.EncodeToString(secret))
		if err != nil {
			panic("crypto: hashing the dummy password: " + err.Error())
		}
		dummyHash = h
	})
	return dummyHash
}

// Password policy. Length is what makes a password hard to guess, so the
// policy asks for length and refuses only what guessers try first; it has
// no rules about character classes, which push people towards
// "Password2024!".
const (
	minPasswordRunes     = 12
	maxPasswordBytes     = 256
	minUsernameRunes     = 3
	maxRepeatedUnitRunes = 4
)

// ErrWeakPassword wraps every refusal by CheckPasswordPolicy. The wrapping
// message says what to do instead, and never quotes the password.
var ErrWeakPassword = errors.New("weak password")

//go:embed weakpasswords.txt
var weakPasswordsFile string

// weakPasswords is the embedded list of passwords and words that guessers
// try first, lower-cased.
var weakPasswords = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool)
	for line := range strings.Lines(weakPasswordsFile) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
})

// CheckPasswordPolicy returns nil if password is acceptable for the staff
// member username, or an error wrapping ErrWeakPassword that says why not
// and what to do.
func CheckPasswordPolicy(password, username string) error {
	weak := func(advice string) error { return fmt.Errorf("%w: %s", ErrWeakPassword, advice) }
	if len(password) > maxPasswordBytes {
		return weak("use at most 256 bytes")
	}
	if utf8.RuneCountInString(password) < minPasswordRunes {
		return weak("use at least 12 characters; a few unrelated words make a long password that is easy to remember")
	}
	lower := strings.ToLower(password)
	if u := strings.ToLower(strings.TrimSpace(username)); utf8.RuneCountInString(u) >= minUsernameRunes && strings.Contains(lower, u) {
		return weak("do not include your username")
	}
	if isRepetition(lower) {
		return weak("do not repeat one character or a short pattern")
	}
	if isSequence(lower) {
		return weak("do not use a sequence such as abcd or 1234 or a row of the keyboard")
	}
	if isCommonPassword(lower) {
		return weak("this is one of the passwords guessed first, even with numbers or symbols added; choose a few unrelated words instead")
	}
	return nil
}

// isRepetition reports whether s is one unit of at most
// maxRepeatedUnitRunes runes repeated, such as "aaaaaaaaaaaa" or
// "abcabcabcabc".
func isRepetition(s string) bool {
	r := []rune(s)
	for unit := 1; unit <= maxRepeatedUnitRunes && unit < len(r); unit++ {
		if len(r)%unit != 0 {
			continue
		}
		repeated := true
		for i := unit; i < len(r); i++ {
			if r[i] != r[i-unit] {
				repeated = false
				break
			}
		}
		if repeated {
			return true
		}
	}
	return false
}

// sequences are the runs guessers walk, forwards or backwards, wrapping
// round at the end: the alphabet, the digits, the keyboard by rows and by
// columns.
var sequences = []string{
	"abcdefghijklmnopqrstuvwxyz",
	"0123456789",
	"qwertyuiopasdfghjklzxcvbnm",
	"qwertyuiop",
	"asdfghjkl",
	"zxcvbnm",
	"qazwsxedcrfvtgbyhnujmikolp",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
	"1q2w3e4r5t6y7u8i9o0p",
	"azertyuiop", // French keyboard
	"qwertzuiop", // German keyboard
	"!@#$%^&*()",
}

// isSequence reports whether s is a stretch of one of sequences.
func isSequence(s string) bool {
	for _, seq := range sequences {
		for _, q := range []string{seq, reverse(seq)} {
			if strings.Contains(strings.Repeat(q, len(s)/len(q)+2), s) {
				return true
			}
		}
	}
	return false
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// isCommonPassword reports whether s (lower case) is on the list, also once
// the digits, punctuation and spaces people add at either end are removed,
// and once common letter-for-symbol swaps are undone: "P@ssw0rd2024!" is
// "password".
func isCommonPassword(s string) bool {
	list := weakPasswords()
	decoration := func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	}
	for _, c := range []string{s, strings.TrimRightFunc(s, decoration), strings.TrimFunc(s, decoration)} {
		if c == "" {
			continue
		}
		if list[c] || list[leetToI.Replace(c)] || list[leetToL.Replace(c)] {
			return true
		}
	}
	return false
}

// Undo the commonest symbol-for-letter swaps; "1" stands for either i or l.
var (
	leetToI = strings.NewReplacer("@", "a", "4", "a", "3", "e", "0", "o", "$", "s", "5", "s", "7", "t", "1", "i", "!", "i")
	leetToL = strings.NewReplacer("@", "a", "4", "a", "3", "e", "0", "o", "$", "s", "5", "s", "7", "t", "1", "l", "!", "i")
)
