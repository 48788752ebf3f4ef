package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"
)

// AuthContextWindow is how far an authContext timestamp may be from the
// server clock, in either direction (PROTOCOL §4.2.4).
const AuthContextWindow = 60 * time.Second

// VerifyAuthContext checks a widget authContext (PROTOCOL §4.2.4): secret is
// the agent's widget signing secret (empty means the agent has none), and
// signatureHex must be the hex encoding, in either letter case, of
// HMAC-SHA256(secret, userID + ":" + decimal(ts)). The comparison is constant
// time. userID must be 1..256 characters and ts within 60 s of now.
func VerifyAuthContext(secret []byte, userID string, ts int64, signatureHex string, now time.Time) bool {
	if len(secret) == 0 {
		return false
	}
	if userID == "" || utf8.RuneCountInString(userID) > 256 {
		return false
	}
	// Compare against bounds rather than subtracting, so an extreme ts cannot
	// overflow.
	window := int64(AuthContextWindow / time.Second)
	nowSec := now.Unix()
	if ts < nowSec-window || ts > nowSec+window {
		return false
	}
	got, err := hex.DecodeString(signatureHex)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(userID + ":" + strconv.FormatInt(ts, 10)))
	return hmac.Equal(got, mac.Sum(nil))
}
