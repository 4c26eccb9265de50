package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// A follow-up message is sealed to the newest key of its case's channel,
// read for every message: the key parsed for one generation (which the
// server remembers) is not used once a newer one exists, so a member
// removed with the new generation cannot read what follows.
func TestFollowUpMessageIsSealedToTheChannelsNewestKey(t *testing.T) {
	t.Parallel()
	adjust, org := classicOrg(t)
	ts := startServer(t, adjust)
	ctx := context.Background()
	res, receipt := sendReport(t, ts, [][2]string{{"body", "first"}})
	code := caseCodeRE.FindStringSubmatch(receipt)
	if res.StatusCode != http.StatusOK || code == nil {
		t.Fatalf("report: %d", res.StatusCode)
	}
	cs, _ := newestCase(t, ts)
	c := login(t, ts, strings.TrimSpace(code[1]))
	send := func(text string) []byte {
		t.Helper()
		_, page := get(t, c, ts.URL+"/case")
		body, ctype := multipartBody([][2]string{{"csrf", csrfOf(t, page)}, {"body", text}}, nil)
		if res, _ := post(t, c, ts.URL+"/case/message", body, ctype); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("message %q: %d", text, res.StatusCode)
		}
		msgs, err := ts.DB.Messages(ctx, cs.ID)
		must(t, err)
		return msgs[len(msgs)-1].Ciphertext
	}
	opens := func(ct []byte, id age.Identity, want string) bool {
		m, err := crypto.OpenMessage(ct, id)
		return err == nil && m.Text == want
	}
	newKey := func(previous int) *age.X25519Identity {
		id, err := age.GenerateX25519Identity()
		must(t, err)
		_, err = ts.DB.AddChannelKey(ctx, storage.DefaultChannel, previous, id.Recipient().String(), map[int64][]byte{})
		must(t, err)
		return id
	}

	first := newKey(0)
	// Twice with the first generation: the second message uses the key
	// as remembered.
	for _, text := range []string{"one", "two"} {
		ct := send(text)
		if !opens(ct, first, text) || !opens(ct, org, text) {
			t.Fatalf("message %q does not open with the channel's key and the organisation's", text)
		}
	}
	second := newKey(1)
	ct := send("three")
	if !opens(ct, second, "three") || !opens(ct, org, "three") {
		t.Fatal("a message after a new generation does not open with the new key")
	}
	if opens(ct, first, "three") {
		t.Fatal("a message after a new generation opens with the old channel key")
	}
}
