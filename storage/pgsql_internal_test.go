package storage

import "testing"

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`UPDATE s SET x = 1 WHERE id = ?1 AND y NOT IN (SELECT z FROM r WHERE c = ?1)`, `UPDATE s SET x = 1 WHERE id = $1 AND y NOT IN (SELECT z FROM r WHERE c = $1)`},
		{`SELECT '?', "a?b", ? -- what?` + "\n" + `, ?`, `SELECT '?', "a?b", $1 -- what?` + "\n" + `, $2`},
		{`SELECT 'it''s ?', ? /* ? */, ?`, `SELECT 'it''s ?', $1 /* ? */, $2`},
		{`SELECT x::text FROM t WHERE y = ?`, `SELECT x::text FROM t WHERE y = $1`},
		{`INSERT INTO t (a, b, c, d, e, f, g, h, i, j) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `INSERT INTO t (a, b, c, d, e, f, g, h, i, j) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`},
		{`SELECT ? -- trailing comment`, `SELECT $1 -- trailing comment`},
		{`CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE 'why?'; END $$; SELECT ?`, `CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE 'why?'; END $$; SELECT $1`},
		{`SELECT $tag$ ? $x$ ? $tag$, ?`, `SELECT $tag$ ? $x$ ? $tag$, $1`},
	} {
		got, err := rebind(c.in)
		if err != nil || got != c.want {
			t.Errorf("rebind(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`SELECT ?, ?1`, `SELECT ?2, ?`, `SELECT '?`, `SELECT ? /* x`, `SELECT "a?`, `SELECT $$ ? `} {
		if got, err := rebind(bad); err == nil {
			t.Errorf("rebind(%q) = %q, want an error", bad, got)
		}
	}
}

func TestRebindCached(t *testing.T) {
	q := `SELECT ? + ?`
	for range 2 {
		got, err := rebindCached(q)
		if err != nil || got != `SELECT $1 + $2` {
			t.Fatalf("rebindCached = %q, %v", got, err)
		}
	}
	if _, err := rebindCached(`SELECT ?, ?1`); err == nil {
		t.Fatal("a mixed statement was accepted from the cache")
	}
	if _, err := rebindCached(`SELECT ?, ?1`); err == nil {
		t.Fatal("a mixed statement was accepted the second time")
	}
}
