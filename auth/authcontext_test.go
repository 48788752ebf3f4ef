package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerifyAuthContext(t *testing.T) {
	secret := []byte("widget-signing-secret")
	now := testEpoch
	sig := func(key []byte, userID string, ts int64) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(userID + ":" + strconv.FormatInt(ts, 10)))
		return hex.EncodeToString(m.Sum(nil))
	}
	ts := now.Unix()
	tests := []struct {
		name   string
		secret []byte
		userID string
		ts     int64
		sig    string
		want   bool
	}{
		{"valid signature", secret, "user-42", ts, sig(secret, "user-42", ts), true},
		{"upper-case hex", secret, "user-42", ts, strings.ToUpper(sig(secret, "user-42", ts)), true},
		{"60 s old", secret, "user-42", ts - 60, sig(secret, "user-42", ts-60), true},
		{"60 s ahead", secret, "user-42", ts + 60, sig(secret, "user-42", ts+60), true},
		{"stale by 61 s", secret, "user-42", ts - 61, sig(secret, "user-42", ts-61), false},
		{"61 s in the future", secret, "user-42", ts + 61, sig(secret, "user-42", ts+61), false},
		{"wrong signature", secret, "user-42", ts, sig([]byte("other"), "user-42", ts), false},
		{"signature for another user", secret, "user-43", ts, sig(secret, "user-42", ts), false},
		{"signature for another timestamp", secret, "user-42", ts, sig(secret, "user-42", ts-1), false},
		{"truncated signature", secret, "user-42", ts, sig(secret, "user-42", ts)[:62], false},
		{"not hex", secret, "user-42", ts, strings.Repeat("zz", 32), false},
		{"agent without a signing secret", nil, "user-42", ts, sig(nil, "user-42", ts), false},
		{"empty userId", secret, "", ts, sig(secret, "", ts), false},
		{"userId of 257 characters", secret, strings.Repeat("u", 257), ts, sig(secret, strings.Repeat("u", 257), ts), false},
		{"extreme timestamp does not overflow", secret, "user-42", -1 << 63, sig(secret, "user-42", -1<<63), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyAuthContext(tt.secret, tt.userID, tt.ts, tt.sig, now.Add(300*time.Millisecond)); got != tt.want {
				t.Errorf("VerifyAuthContext = %v, want %v", got, tt.want)
			}
		})
	}
}
