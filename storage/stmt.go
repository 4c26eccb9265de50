package storage

import "strconv"

// stmtCacheSize is how many prepared statements each SQLite connection
// keeps (go-sqlite3's _stmt_cache_size, keyed by the query's text, least
// recently used dropped first).
//
// database/sql prepares a statement afresh for every call made on a DB or
// a Tx, and SQLite's parser and planner cost more than running the small
// queries of a request: under a stream of follow-up messages,
// sqlite3_prepare_v2 took about 6 % of the server's processor, more than
// the steps of the queries it prepared. Cached, a statement is reset and
// its bindings cleared when put back, so it holds no read snapshot or lock
// between uses, and SQLite prepares it again by itself after a schema
// change (a migration). 64 statements per connection hold every query of
// the message and follow-up paths with room for the staff pages', for a
// few hundred KiB per connection.
const stmtCacheSize = 64

// stmtCacheParam is the DSN parameter that sets stmtCacheSize.
func stmtCacheParam() (key, value string) {
	return "_stmt_cache_size", strconv.Itoa(stmtCacheSize)
}
