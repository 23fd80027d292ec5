package store

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/iter8-knative/iter8/events"
)

// hashKey shortens an event key to 12 characters: 72 bits keep the chance
// of two of 1,024 remembered keys colliding near 1e-16, at a tenth of the
// size of typical keys.
func hashKey(key string) string {
	if key == "" {
		return ""
	}
	h := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

// keyLen is the length of a hashed key: 9 bytes in unpadded base64.
const keyLen = 12

// legacyMark prefixes, in memory only, a hashed key of the format before
// events.DedupeKeyOf ("<source> <id>", which two events could share). Such
// keys stay in the state's "seen" field, apart from the new ones, so that
// a window written before an upgrade still recognises redeliveries of its
// events, and a new key never matches an old one by the old ambiguity.
const legacyMark = "~"

// legacyHash is the marked hash of key's legacy form, or "" if it has none.
func legacyHash(key string) string {
	if l := events.LegacyDedupeKey(key); l != "" {
		return legacyMark + hashKey(l)
	}
	return ""
}

// seenKey reports whether the window holds the key, hashed now or hashed
// as before the upgrade.
func seenKey(seen []string, hashed, legacy string) bool {
	return slices.Contains(seen, hashed) || legacy != "" && slices.Contains(seen, legacy)
}

// joinSeen writes the window as the state stores it: the keys, and apart
// the legacy keys, each a string of fixed-width hashes, oldest first.
func joinSeen(seen []string) (keys, legacy string) {
	var k, l strings.Builder
	for _, h := range seen {
		if rest, ok := strings.CutPrefix(h, legacyMark); ok {
			l.WriteString(rest)
		} else {
			k.WriteString(h)
		}
	}
	return k.String(), l.String()
}

// splitSeen reads the window back: legacy keys first (they are older),
// marked, then the keys.
func splitSeen(keys, legacy string) ([]string, error) {
	for _, f := range []struct{ name, text string }{{"dedupe", keys}, {"seen", legacy}} {
		if len(f.text)%keyLen != 0 {
			return nil, fmt.Errorf("dedupe window %q of %d characters is not a whole number of %d-character keys", f.name, len(f.text), keyLen)
		}
	}
	seen := make([]string, 0, (len(keys)+len(legacy))/keyLen)
	for i := 0; i < len(legacy); i += keyLen {
		seen = append(seen, legacyMark+legacy[i:i+keyLen])
	}
	for i := 0; i < len(keys); i += keyLen {
		seen = append(seen, keys[i:i+keyLen])
	}
	return seen, nil
}
