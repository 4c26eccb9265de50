package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// dbReceipts keeps the receipts of new reports in a database that
// several instances share (storage.DB.Shared), so that a repeated form
// that lands on another instance gets the same receipt. The row is found
// by the hash of the form's token (formTokenHash), and the receipt in it
// (case code, file list, channel) is sealed under HKDF-SHA-256 of the raw
// token with its own label: the case code is at rest only under a key
// that the reporter's form alone holds, for receiptKept, and then deleted.
//
// An attempt in flight is a row with no receipt, claimed by a random id
// and recorded with the claiming instance (storage/instances.go). A repeat
// polls the row (pollReceipt apart) until it holds a receipt, is gone, or
// its claiming instance is dead (its row gone or its lock free), for as
// long as it would wait in memory; the claim of a dead instance is taken
// over at once (storage.ClaimReceipt: one repeat wins) and the repeat goes
// on as the report (a report the dead attempt stored already makes its
// form used: 409). A claim also ends at claimFor (the longest an attempt
// may take, rounded up to a minute), a backstop for a claim of no known
// instance.
type dbReceipts struct {
	db       *storage.DB
	claimFor time.Duration
	log      *slog.Logger
}

const (
	receiptKeyLabel = "candour receipt key"
	pollReceipt     = 200 * time.Millisecond
)

type dbReceiptClaim struct {
	d     *dbReceipts
	hash  []byte
	key   []byte
	claim []byte
}

// sealedReceipt is what is sealed: the receipt as the memory store keeps
// it.
type sealedReceipt struct {
	Code    string              `json:"code"`
	Files   []crypto.Attachment `json:"files"`
	Channel string              `json:"channel"`
}

func receiptKey(token string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		return nil, errors.New("malformed form token")
	}
	defer clear(raw)
	return crypto.DeriveKey(raw, receiptKeyLabel)
}

func receiptAD(hash []byte) []byte { return append([]byte(receiptKeyLabel), hash...) }

func (d *dbReceipts) enter(ctx context.Context, token string, hash []byte, wait time.Duration) (*receipt, *receiptClaim, error) {
	key, err := receiptKey(token)
	if err != nil {
		return nil, nil, err
	}
	claim := make([]byte, 16)
	if _, err := rand.Read(claim); err != nil {
		return nil, nil, err
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		now := d.db.Now()
		state, sealed, err := d.db.PeekReceipt(ctx, hash, now)
		if err == nil && state == storage.ReceiptClaimed {
			state, sealed, err = d.db.ClaimReceipt(ctx, hash, claim, now, ceilMinute(now.Add(d.claimFor)))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, errBusy
			}
			return nil, nil, err
		}
		switch state {
		case storage.ReceiptClaimed:
			return nil, &receiptClaim{shared: &dbReceiptClaim{d: d, hash: hash, key: key, claim: claim}}, nil
		case storage.ReceiptKept:
			plain, err := crypto.OpenKeyed(key, sealed, receiptAD(hash))
			if err != nil {
				return nil, nil, fmt.Errorf("failed to open kept receipt: %w", err)
			}
			var sr sealedReceipt
			err = json.Unmarshal(plain, &sr)
			clear(plain)
			if err != nil {
				return nil, nil, fmt.Errorf("failed to read kept receipt: %w", err)
			}
			return &receipt{Code: sr.Code, Files: sr.Files, Channel: sr.Channel}, nil, nil
		}
		poll := time.NewTimer(pollReceipt)
		select {
		case <-poll.C:
		case <-ctx.Done():
			poll.Stop()
			return nil, nil, errBusy
		case <-timer.C:
			poll.Stop()
			return nil, nil, errBusy
		}
	}
}

// keep seals and records the receipt of the stored report. The report is
// stored whatever happens here: a failure only means that a repeat of the
// form will not find the receipt (and gets the page that keeps what it
// carried).
func (c *dbReceiptClaim) keep(r receipt) {
	plain, err := json.Marshal(sealedReceipt{Code: r.Code, Files: r.Files, Channel: r.Channel})
	if err != nil {
		c.d.log.Error("failed to keep receipt", "err", err)
		return
	}
	sealed, err := crypto.SealKeyed(c.key, plain, receiptAD(c.hash))
	clear(plain)
	if err != nil {
		c.d.log.Error("failed to keep receipt", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	until := ceilMinute(c.d.db.Now().Add(receiptKept))
	if err := c.d.db.KeepReceipt(ctx, c.hash, c.claim, sealed, until, maxReceiptsKept); err != nil {
		c.d.log.Error("failed to keep receipt", "err", err)
	}
}

func (c *dbReceiptClaim) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	if err := c.d.db.DropReceiptClaim(ctx, c.hash, c.claim); err != nil {
		c.d.log.Error("failed to drop receipt claim", "err", err)
	}
}

func (d *dbReceipts) sweep(ctx context.Context) {
	if _, err := d.db.SweepReceipts(ctx, d.db.Now()); err != nil && ctx.Err() == nil {
		d.log.Error("failed to sweep receipts", "err", err)
	}
}
