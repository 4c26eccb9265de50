package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes a size flag accepts, matched without regard
// to case. All are binary: K and KiB both mean 1,024, M and MiB 1,024², G
// and GiB 1,024³, so "2M" is exactly what the pages show as "2 MiB". There
// is deliberately no decimal (1,000-based) unit, and so no KB, MB or GB,
// whose meaning people disagree on.
var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
}

// parseSize parses a positive whole number with an optional binary unit:
// "1048576", "512KiB", "2M", "1GiB", "1g". Spaces around the number and
// between it and the unit are allowed.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	factor := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, factor = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.factor
			break
		}
	}
	if t == "" || strings.TrimLeft(t, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a size: use a whole number with an optional unit K, M, G (or KiB, MiB, GiB; all 1,024-based), e.g. 2M", s)
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if errors.Is(err, strconv.ErrRange) || (err == nil && n > math.MaxInt64/factor) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %v", s, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("%q: a size must be at least 1", s)
	}
	return n * factor, nil
}

// formatSize writes n in the largest unit that divides it exactly (the
// flag defaults shown by --help read "2GiB", not "2147483648").
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.factor == 0 {
			return strconv.FormatInt(n/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// sizeFlag is a flag.Value holding a size parsed by parseSize.
type sizeFlag int64

func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f = sizeFlag(n)
	return nil
}

func (f *sizeFlag) String() string {
	if f == nil {
		return "0"
	}
	return formatSize(int64(*f))
}

// countFlag is a sizeFlag for a count of things that are not bytes
// (--max-text counts characters): its default reads "256K", not "256KiB".
type countFlag struct{ sizeFlag }

func (f *countFlag) String() string {
	if f == nil {
		return "0"
	}
	s := formatSize(int64(f.sizeFlag))
	return strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i")
}
