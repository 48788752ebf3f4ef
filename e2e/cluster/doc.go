// Package cluster holds Switchboard's multi-instance end-to-end tests (DESIGN §5,
// PROTOCOL §9): two or three real servers in one test against one database, real WebSockets
// and a scripted LLM gateway. Published events, approvals decided on another instance, the
// listener's and the database's outages, and the graceful drain are tested here.
//
// It has no code of its own and must never be imported.
package cluster
