package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PostgresSetting is a setting of the PostgreSQL server that records when
// reporters' rows were written, beyond what Candour stores.
type PostgresSetting struct {
	Name  string // as in postgresql.conf
	Value string // pg_settings' setting, in its base unit
	Why   string // what it records, for the operator
	Fix   string // the value that records nothing
}

func (s PostgresSetting) String() string {
	return fmt.Sprintf("%s = %s: %s (set %s)", s.Name, s.Value, s.Why, s.Fix)
}

// privacySettings are the settings CheckPostgresPrivacy reads, from
// pg_settings (readable by any role; a setting of an extension that is
// not loaded is absent, and so not checked).
var privacySettings = []string{
	"track_commit_timestamp", "log_statement", "log_min_duration_statement",
	"log_min_duration_sample", "log_statement_sample_rate", "log_transaction_sample_rate",
	"auto_explain.log_min_duration",
}

// CheckPostgresPrivacy reads the PostgreSQL settings, as they apply to this
// database's sessions (postgresql.conf, ALTER SYSTEM, ALTER DATABASE or
// ALTER ROLE), that would make the database server itself record the time
// of every report and message, or of some of them. Invariant 4 allows no
// precise time of a reporter's request at rest: refused are the settings
// that record it for every write (the commit time of every row's
// transaction, readable with SQL; every statement in the server's log with
// its time and parameters); warned of are those that record it for some
// (statements slower than a bound, or a sample). `candour serve` refuses
// to start with a refused one and logs each warned one. What PostgreSQL
// records whatever its settings (the WAL's commit times, the order of
// rows) is in SECURITY.md. On SQLite it returns nothing.
func (db *DB) CheckPostgresPrivacy(ctx context.Context) (refused, warned []PostgresSetting, err error) {
	if !db.pg {
		return nil, nil, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT name, setting FROM pg_settings WHERE name = ANY(?)`, privacySettings)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read PostgreSQL's settings: %w", err)
	}
	set := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			rows.Close()
			return nil, nil, err
		}
		set[name] = value
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, nil, fmt.Errorf("failed to read PostgreSQL's settings: %w", err)
	}
	num := func(name string) (float64, bool) {
		v, ok := set[name]
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	add := func(to *[]PostgresSetting, name, why, fix string) {
		*to = append(*to, PostgresSetting{Name: name, Value: set[name], Why: why, Fix: fix})
	}
	if set["track_commit_timestamp"] == "on" {
		add(&refused, "track_commit_timestamp",
			"PostgreSQL keeps the commit time of every transaction, which anyone who can read the tables gets for each report and message with pg_xact_commit_timestamp(xmin)",
			"off, and restart PostgreSQL")
	}
	if v := strings.ToLower(set["log_statement"]); v == "mod" || v == "all" {
		add(&refused, "log_statement",
			"the server's log gets every report's and message's INSERT with its time (and its parameters)",
			"none, or ddl")
	}
	if v, ok := num("log_min_duration_statement"); ok && v == 0 {
		add(&refused, "log_min_duration_statement",
			"the server's log gets every statement with its time", "-1")
	} else if ok && v > 0 {
		add(&warned, "log_min_duration_statement",
			"the server's log gets each statement slower than this many milliseconds with its time, reporters' included", "-1")
	}
	if v, ok := num("log_transaction_sample_rate"); ok && v >= 1 {
		add(&refused, "log_transaction_sample_rate",
			"the server's log gets every statement of every transaction with its time", "0")
	} else if ok && v > 0 {
		add(&warned, "log_transaction_sample_rate",
			"the server's log gets every statement of this share of transactions with its time, reporters' included", "0")
	}
	if d, ok := num("log_min_duration_sample"); ok && d >= 0 {
		if r, ok := num("log_statement_sample_rate"); ok && r > 0 {
			add(&warned, "log_min_duration_sample",
				"the server's log gets a sample of the statements slower than this many milliseconds with their time, reporters' included", "-1")
		}
	}
	if v, ok := num("auto_explain.log_min_duration"); ok && v >= 0 {
		add(&warned, "auto_explain.log_min_duration",
			"auto_explain logs the plans of statements slower than this many milliseconds with their time, reporters' included", "-1")
	}
	return refused, warned, nil
}
