// Package testkit is the toolkit every package's tests share: Eventually for "wait until
// this holds", and ConnLog, the positive signal that nothing reached a server.
//
// It is for tests only and must never be linked into the server. It imports no package
// whose own tests use it (store, knowledge, backplane, api, ...), so any test can import it.
package testkit
