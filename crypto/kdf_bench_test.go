package crypto_test

import (
	"fmt"
	"testing"

	"github.com/candour/candour/crypto"
)

// BenchmarkDerive is the cost of one follow-up login attempt or one new
// case: one Argon2id run at the default parameters.
func BenchmarkDerive(b *testing.B) {
	p, err := crypto.NewKDFParams(crypto.DefaultKDFTime, crypto.DefaultKDFMemoryKiB, crypto.DefaultKDFThreads)
	if err != nil {
		b.Fatal(err)
	}
	code, err := crypto.NewCaseCode()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.Derive(code); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCaseKeysAreRedactedWhenPrinted(t *testing.T) {
	t.Parallel()
	p, err := crypto.NewKDFParams(1, 8*1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := crypto.NewCaseCode()
	keys, err := p.Derive(code)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q"} {
		if got := fmt.Sprintf(verb, keys); got != "[case keys redacted]" {
			t.Errorf("%s printed %q", verb, got)
		}
	}
}
