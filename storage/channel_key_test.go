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
