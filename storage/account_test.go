package storage_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/candour/candour/storage"
)

func TestReservedUsernamesAreRefused(t *testing.T) {
	for _, name := range []string{"cli", "Unknown", "system", "REPORTER", "a", "has space", "../x", ".dot"} {
		if storage.ValidUsername(name) {
			t.Errorf("%q accepted", name)
		}
	}
	if !storage.ValidUsername("jo.smith-2") {
		t.Error("an ordinary username refused")
	}
	db := mustOpenDB(t)
	if _, err := db.CreateStaff(context.Background(), "System", storage.RoleAdmin); err == nil {
		t.Error("an account named after an audit actor was created")
	}
}

func TestEnrolmentTokensAreKeptAsHashes(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	st, err := db.CreateStaff(ctx, "mona", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	token, err := db.NewEnrolmentToken(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.EnrolmentStaff(ctx, storage.HashToken(token)); err != nil || got.ID != st.ID {
		t.Fatalf("EnrolmentStaff = %v, %v", got, err)
	}
	if bytes.Equal(storage.HashToken(token), []byte(token)) || len(token) < 40 {
		t.Errorf("token %q", token)
	}
	if got := storage.EnrolmentLink("https://report.example.org/", token); got != "https://report.example.org/staff/enrol/"+token {
		t.Errorf("link %q", got)
	}
}
