package crypto_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/candour/candour/crypto"
)

// TestCleanAttachmentNameSharedCases runs the table of names that the staff
// console's safeName (frontend/js/safename.js) is checked against too, by
// tests/unit/safename.test.mjs: the server, `candour decrypt` and the
// browser must clean every name the same way.
func TestCleanAttachmentNameSharedCases(t *testing.T) {
	data, err := os.ReadFile("testdata/attachment-names.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ Name, In, Want string }
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 50 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			if got := crypto.CleanAttachmentName(tc.In); got != tc.Want {
				t.Errorf("CleanAttachmentName(%+q) = %+q, want %+q", tc.In, got, tc.Want)
			}
			if got := crypto.CleanAttachmentName(tc.Want); got != tc.Want {
				t.Errorf("cleaning is not idempotent: %+q becomes %+q", tc.Want, got)
			}
		})
	}
}
