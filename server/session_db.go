package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"log/slog"
	"time"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// dbSessions keeps follow-up sessions in a database that several
// instances share (storage.DB.Shared), so that any of them can serve a
// reporter's next request. The key is split: the cookie's token T (256
// random bits) is never stored; the row is found by H = SHA-256("candour
// session id" || T), and the case identity in it is sealed
// (XChaCha20-Poly1305) under K = HKDF-SHA-256(T, "candour session key"),
// bound to H and the case id. The CSRF token is HKDF-SHA-256(T, "candour
// session csrf"), so it is not stored at all. The database alone thus
// holds only ciphertext whose key exists only in the reporter's cookie;
// an instance given the cookie derives H and K, reads the row and opens
// the identity, for the request only.
//
// Times are coarse (invariant 4): a row holds when its idle time and its
// lifetime end, each rounded up to a whole minute, and a read moves the
// idle end on only when that changes its minute, so requests within a
// minute write nothing.
type dbSessions struct {
	db       *storage.DB
	idle     time.Duration
	lifetime time.Duration
	log      *slog.Logger
}

const (
	sessionIDLabel   = "candour session id"
	sessionKeyLabel  = "candour session key"
	sessionCSRFLabel = "candour session csrf"
	// dbTimeout bounds a store's database work that no request waits for
	// (logout after its answer is decided, the sweep).
	dbTimeout = 30 * time.Second
)

// sessionKeys are what a cookie token yields.
type sessionKeys struct {
	idHash []byte
	key    []byte
	csrf   string
}

func deriveSessionKeys(token string) (sessionKeys, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		return sessionKeys{}, false
	}
	defer clear(raw)
	h := sha256.Sum256(append([]byte(sessionIDLabel), raw...))
	key, err := crypto.DeriveKey(raw, sessionKeyLabel)
	if err != nil {
		return sessionKeys{}, false
	}
	csrf, err := crypto.DeriveKey(raw, sessionCSRFLabel)
	if err != nil {
		return sessionKeys{}, false
	}
	return sessionKeys{idHash: h[:], key: key, csrf: base64.RawURLEncoding.EncodeToString(csrf)}, true
}

// sessionAD binds a sealed identity to its row and case: moved to another
// row or case, it does not open.
func sessionAD(idHash []byte, caseID int64) []byte {
	ad := append([]byte(sessionIDLabel), idHash...)
	return binary.BigEndian.AppendUint64(ad, uint64(caseID))
}

// ceilMinute is t rounded up to a whole minute.
func ceilMinute(t time.Time) time.Time {
	r := t.Truncate(time.Minute)
	if r.Before(t) {
		r = r.Add(time.Minute)
	}
	return r
}

func (d *dbSessions) create(ctx context.Context, caseID int64, id *crypto.CaseIdentity) (string, error) {
	token := randomToken()
	k, _ := deriveSessionKeys(token)
	sealed, err := crypto.SealCaseIdentity(k.key, id, sessionAD(k.idHash, caseID))
	if err != nil {
		return "", err
	}
	now := d.db.Now()
	err = d.db.CreateReporterSession(ctx, storage.ReporterSession{
		IDHash: k.idHash, CaseID: caseID, Sealed: sealed,
		IdleUntil: ceilMinute(now.Add(d.idle)), EndsAt: ceilMinute(now.Add(d.lifetime)),
	}, now, maxSessionsPerCase, maxSessions)
	if err != nil {
		return "", err
	}
	return token, nil
}

func (d *dbSessions) get(ctx context.Context, token string) (*session, bool) {
	if token == "" {
		return nil, false
	}
	k, ok := deriveSessionKeys(token)
	if !ok {
		return nil, false
	}
	row, err := d.db.ReporterSessionByHash(ctx, k.idHash)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) && ctx.Err() == nil {
			d.log.Error("failed to read reporter session", "err", err)
		}
		return nil, false
	}
	now := d.db.Now()
	if !now.Before(row.IdleUntil) || !now.Before(row.EndsAt) {
		return nil, false
	}
	id, err := crypto.OpenCaseIdentity(k.key, row.Sealed, sessionAD(k.idHash, row.CaseID))
	if err != nil {
		d.log.Error("failed to open reporter session", "err", err)
		return nil, false
	}
	if idle := ceilMinute(now.Add(d.idle)); idle.After(row.IdleUntil) {
		if err := d.db.TouchReporterSession(ctx, k.idHash, idle); err != nil && ctx.Err() == nil {
			d.log.Error("failed to touch reporter session", "err", err)
		}
	}
	return &session{caseID: row.CaseID, identity: id, csrf: k.csrf}, true
}

func (d *dbSessions) remove(ctx context.Context, token string) {
	k, ok := deriveSessionKeys(token)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dbTimeout)
	defer cancel()
	if err := d.db.DeleteReporterSession(ctx, k.idHash); err != nil {
		d.log.Error("failed to end reporter session", "err", err)
	}
}

func (d *dbSessions) removeCase(ctx context.Context, caseID int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dbTimeout)
	defer cancel()
	if err := d.db.DeleteReporterSessions(ctx, caseID); err != nil {
		d.log.Error("failed to end a case's reporter sessions", "err", err)
	}
}

func (d *dbSessions) sweep(ctx context.Context) {
	if _, err := d.db.SweepReporterSessions(ctx, d.db.Now()); err != nil && ctx.Err() == nil {
		d.log.Error("failed to sweep reporter sessions", "err", err)
	}
}
