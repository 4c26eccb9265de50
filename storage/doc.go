// Package storage keeps Candour's state in one SQLite database (plus its
// WAL): cases, messages and attachments as opaque age ciphertext, and the few
// fields the service needs in clear to work. Attachment chunks are in a
// second file beside it, with fsyncs per attachment rather than per chunk
// and checkpoints in the background (chunks.go).
//
// Writes go through a single connection, so concurrent writers queue in Go
// instead of failing with "database is locked"; reads use a pool of read-only
// connections and see consistent snapshots (WAL). Every commit is durable
// (synchronous=FULL) before it returns.
//
// A change that the audit trail records is made through [DB.Change], which
// commits it in one transaction with its entry. The rules about staff
// accounts (usernames, the audit trail's reserved actors, enrolment links)
// live here too (account.go), beside the rows they guard.
//
// The package sees ciphertext as bytes. It imports neither crypto nor server.
package storage
