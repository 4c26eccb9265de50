package main

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int64
	}{
		{"plain bytes are bytes", "1048576", 1 << 20},
		{"a single byte is allowed", "1", 1},
		{"K is 1,024", "5K", 5 << 10},
		{"a lower-case k is K", "5k", 5 << 10},
		{"KiB is 1,024", "512KiB", 512 << 10},
		{"M is 1,024²", "2M", 2 << 20},
		{"MiB in any case is 1,024²", "2mib", 2 << 20},
		{"G is 1,024³", "1G", 1 << 30},
		{"GiB is 1,024³", "1GiB", 1 << 30},
		{"a space before the unit is allowed", "3 MiB", 3 << 20},
		{"surrounding spaces are ignored", " 7g ", 7 << 30},
		{"leading zeros are decimal, not octal", "010", 10},
		{"the largest G that fits is allowed", "8589934591G", 8589934591 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name, in, msg string
	}{
		{"a negative size is refused", "-1", "not a size"},
		{"a plus sign is refused", "+1", "not a size"},
		{"zero is refused", "0", "at least 1"},
		{"zero with a unit is refused", "0M", "at least 1"},
		{"a version number is refused", "1.5.2M", "not a size"},
		{"a fraction is refused", "1.5M", "not a size"},
		{"an unknown unit is refused", "10XB", "not a size"},
		{"a decimal unit is refused, not guessed", "10MB", "not a size"},
		{"a unit alone is refused", "M", "not a size"},
		{"an empty value is refused", "", "not a size"},
		{"a terabyte unit is refused", "1T", "not a size"},
		{"a hexadecimal number is refused", "0x10", "not a size"},
		{"two units are refused", "1KK", "not a size"},
		{"a number that overflows int64 is refused", "9223372036854775808", "too large"},
		{"a unit that makes it overflow is refused", "8589934592G", "too large"},
		{"a huge K is refused", "9007199254740992K", "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if err == nil {
				t.Fatalf("parseSize(%q) = %d, want an error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("parseSize(%q): error %q should quote the value and say %q", tc.in, err, tc.msg)
			}
		})
	}
}

func TestFormatSizeRoundTrips(t *testing.T) {
	for _, n := range []int64{1, 1000, 1 << 10, 1536, 256 << 10, 32 << 20, 1 << 30, 2 << 30, 3<<30 + 1} {
		s := formatSize(n)
		back, err := parseSize(s)
		if err != nil || back != n {
			t.Errorf("formatSize(%d) = %q, parses back to %d, %v", n, s, back, err)
		}
	}
	if got := formatSize(2 << 30); got != "2GiB" {
		t.Errorf("formatSize(2 GiB) = %q", got)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "2M", "512KiB", "1GiB", "-1", "1.5.2M", "10XB", "9223372036854775807", "8589934592G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && n < 1 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
	})
}

func TestCountFlagShowsPlainUnits(t *testing.T) {
	f := countFlag{sizeFlag(256 << 10)}
	if got := f.String(); got != "256K" {
		t.Errorf("String() = %q, want 256K", got)
	}
	if err := f.Set("5k"); err != nil || f.sizeFlag != 5<<10 {
		t.Errorf("Set(5k) = %v, value %d", err, f.sizeFlag)
	}
}
