package crypto_test

import (
	"fmt"

	"github.com/candour/candour/crypto"
)

func ExampleParseCaseCode() {
	// People type codes in lower case, with spaces for dashes.
	code, err := crypto.ParseCaseCode("k01s h0rd-8nbq bka6 1pxx")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(code.Display())

	// They also read 0 as O and 1 as I.
	typo, err := crypto.ParseCaseCode("KO1S-HORD-8NBQ-BKA6-IPXX")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(typo == code)

	// Anything else that prints a code redacts it.
	fmt.Println(code)
	// Output:
	// K01S-H0RD-8NBQ-BKA6-1PXX
	// true
	// [case code redacted]
}
