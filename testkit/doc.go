// Package testkit is the toolkit every package's tests share: Eventually for "wait until
// this holds", and ConnLog, the positive signal that nothing reached a server. The fixture
// factory is its subpackage fixture.
//
// It is for tests only and must never be linked into the server. It imports nothing of
// this module, so any package's tests can use it, those of auth and store included.
package testkit
