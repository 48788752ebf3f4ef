// Package auth turns credentials into principals for Switchboard: it
// classifies bearer tokens, verifies JWTs against pinned key material
// (ADMIN-API §2.3), mints and hashes org API keys and widget resume tokens
// (ADMIN-API §2.2, PROTOCOL §3.5), resolves AUTH_MODE (ADMIN-API §2.4),
// orders roles (ADMIN-API §3) and checks widget authContext signatures
// (PROTOCOL §4.2.4).
//
// It holds no database access: org resolution and API-key lookups belong to
// their callers, which get the raw org claim and the key hash from here.
//
// This package must never log, return or embed in an error message a token,
// an API key, a resume token, a signing secret or key material. A log line
// may name a JWT kid, and an API key only by its prefix and last four
// characters. It must never accept a token whose algorithm is not pinned by
// the configured key, take a key from the token itself (jku, x5u, x5c, jwk),
// or offer any path that accepts unsigned or unverified claims.
package auth
