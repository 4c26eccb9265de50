package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/candour/candour/storage"
)

// NewestChannelKey gives what Channel gives of the newest key, for a
// channel with none, one or two generations, and ErrNotFound for no
// channel.
func TestNewestChannelKey(t *testing.T) {
	t.Parallel()
	db := mustOpenDB(t)
	ctx := context.Background()
	other := mustChannel(t, db, "other")
	check := func(channel int64, wantGen int, wantKey string) {
		t.Helper()
		gen, key, err := db.NewestChannelKey(ctx, channel)
		if err != nil || gen != wantGen || key != wantKey {
			t.Fatalf("channel %d: generation %d key %q err %v, want %d %q", channel, gen, key, err, wantGen, wantKey)
		}
		ch, err := db.Channel(ctx, channel)
		must(t, err)
		if ch.Generation != gen || ch.Recipient != key {
			t.Fatalf("channel %d: Channel says %d %q, NewestChannelKey %d %q", channel, ch.Generation, ch.Recipient, gen, key)
		}
	}
	check(storage.DefaultChannel, 0, "")
	_, err := db.AddChannelKey(ctx, storage.DefaultChannel, 0, "age1first", nil)
	must(t, err)
	_, err = db.AddChannelKey(ctx, other, 0, "age1other", nil)
	must(t, err)
	check(storage.DefaultChannel, 1, "age1first")
	_, err = db.AddChannelKey(ctx, storage.DefaultChannel, 1, "age1second", nil)
	must(t, err)
	check(storage.DefaultChannel, 2, "age1second")
	check(other, 1, "age1other")
	if _, _, err := db.NewestChannelKey(ctx, 999); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("no such channel: %v, want ErrNotFound", err)
	}
}

// SealingKeys gives, in one read, what Case and NewestChannelKey give of a
// case's recipient and its channel's newest key, as keys are added, and
// ErrNotFound for no case.
func TestSealingKeys(t *testing.T) {
	t.Parallel()
	db := mustOpenDB(t)
	ctx := context.Background()
	other := mustChannel(t, db, "other")
	kdf := mustKDF(t, db)
	inDefault := mustCreateCase(t, db, "default")
	nc := newCase(kdf.ID, "other")
	nc.ChannelID = other
	inOther, err := db.CreateCase(ctx, nc)
	must(t, err)
	check := func(c storage.Case) {
		t.Helper()
		got, err := db.SealingKeys(ctx, c.ID)
		must(t, err)
		cs, err := db.Case(ctx, c.ID)
		must(t, err)
		gen, key, err := db.NewestChannelKey(ctx, cs.ChannelID)
		must(t, err)
		want := storage.SealingKeys{CaseID: cs.ID, CaseRecipient: cs.Recipient, ChannelID: cs.ChannelID,
			ChannelGeneration: gen, ChannelRecipient: key}
		if got != want {
			t.Fatalf("case %d: SealingKeys %+v, want %+v", c.ID, got, want)
		}
	}
	check(inDefault)
	check(inOther)
	_, err = db.AddChannelKey(ctx, other, 0, "age1other", nil)
	must(t, err)
	check(inDefault)
	check(inOther)
	_, err = db.AddChannelKey(ctx, other, 1, "age1newer", nil)
	must(t, err)
	check(inOther)
	if got, _ := db.SealingKeys(ctx, inOther.ID); got.ChannelGeneration != 2 || got.ChannelRecipient != "age1newer" || got.CaseRecipient != "age1recipientother" {
		t.Fatalf("after a second key: %+v", got)
	}
	if _, err := db.SealingKeys(ctx, 999999); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("no such case: %v, want ErrNotFound", err)
	}
}
