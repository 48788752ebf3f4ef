package store

import "strconv"

// Size caps of JSON columns as PostgreSQL prints them (`column::text`), backed by CHECK
// constraints (migrations/00017_edge_caps.sql).
const (
	// MaxApprovalArgumentsBytes caps pending_approvals.arguments (ADMIN-API §9.8: 64 KiB as
	// stored).
	MaxApprovalArgumentsBytes = 65536
	// MaxMetadataStoredBytes caps conversations.metadata: the protocol's 16,384 bytes of
	// compact JSON (PROTOCOL §4.2.1), with room for the spaces jsonb prints.
	MaxMetadataStoredBytes = 32768
)

// JSONBSize bounds from above the bytes PostgreSQL prints for compact, a valid compact JSON
// value, once stored as jsonb: jsonb adds a space after every `:` and `,`, prints strings
// with at most the escapes they came with, and prints a number in plain decimal notation, so
// an exponent can make a short number long (`1e99999` is 100,000 digits). Checking this
// bound before a write keeps the write within the column's CHECK, and keeps a few bytes of
// JSON from becoming megabytes of numeric digits.
func JSONBSize(compact []byte) int {
	n := len(compact)
	inString, escaped := false, false
	for i := 0; i < len(compact); i++ {
		b := compact[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == ':' || b == ',':
			n++
		case b == '-' || (b >= '0' && b <= '9'):
			j := i
			for j < len(compact) && isNumberByte(compact[j]) {
				j++
			}
			n += exponentGrowth(compact[i:j])
			i = j - 1
		}
	}
	return n
}

func isNumberByte(b byte) bool {
	return b == '-' || b == '+' || b == '.' || b == 'e' || b == 'E' || (b >= '0' && b <= '9')
}

// exponentGrowth bounds how many bytes printing num without its exponent adds: at most the
// exponent's magnitude plus "0." and a sign.
func exponentGrowth(num []byte) int {
	for k, b := range num {
		if b != 'e' && b != 'E' {
			continue
		}
		exp, err := strconv.Atoi(string(num[k+1:]))
		if err != nil { // out of int range: far beyond any cap
			return 1 << 30
		}
		if exp < 0 {
			exp = -exp
		}
		return min(exp, 1<<30) + 3
	}
	return 0
}
