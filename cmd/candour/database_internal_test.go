package main

import (
	"strings"
	"testing"
)

// TestDatabaseSpecs checks how a --database value is read, and that the
// name shown of a PostgreSQL URL never holds its password, wherever the
// URL puts it.
func TestDatabaseSpecs(t *testing.T) {
	for _, tc := range []struct {
		spec, dir, shown string
	}{
		{spec: "data", dir: "data"},
		{spec: "/var/lib/candour", dir: "/var/lib/candour"},
		{spec: "sqlite:/var/lib/candour", dir: "/var/lib/candour"},
		{spec: "sqlite:relative/dir", dir: "relative/dir"},
		{spec: "./odd:name", dir: "./odd:name"},
		{spec: "postgres://candour:hunter2secret@db.example.org:5433/candour?sslmode=verify-full",
			shown: "postgres://candour@db.example.org:5433/candour"},
		{spec: "postgresql://candour@db.example.org/candour?password=hunter2secret",
			shown: "postgresql://candour@db.example.org/candour"},
		{spec: "postgres://candour:hunter2secret@/candour?host=%2Frun%2Fpostgresql&password=hunter2secret",
			shown: "postgres://candour@/candour?host=%2Frun%2Fpostgresql"},
	} {
		d, err := parseDatabase(tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		if tc.shown == "" {
			if d.postgres() || d.dir != tc.dir || d.String() != tc.dir {
				t.Errorf("%s: %+v, want SQLite in %s", tc.spec, d, tc.dir)
			}
			continue
		}
		if !d.postgres() || d.url != tc.spec {
			t.Errorf("%s: not PostgreSQL at that URL: %+v", tc.spec, d.dir)
		}
		if got := d.String(); got != tc.shown || strings.Contains(got, "hunter2") {
			t.Errorf("%s is shown as %q, want %q", tc.spec, got, tc.shown)
		}
	}
	for _, bad := range []string{"sqlite:", "mysql://root@db/candour", "postgres:db", "postgres://u:hunter2secret@host:port/x"} {
		_, err := parseDatabase(bad)
		if err == nil {
			t.Errorf("%s was accepted", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error quotes the password: %v", bad, err)
		}
	}
}
