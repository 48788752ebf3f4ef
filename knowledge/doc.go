// Package knowledge holds an org's knowledge: document sets, documents and their chunks,
// connectors that pull documents from a source, and the indexing runs that load them,
// executed as River jobs in the same Postgres. It answers retrieval questions with ranked
// full-text search filtered in SQL by org, document set and document ACL.
//
// It is called by the admin API (ingestion, listing, connectors, runs) and by the turn
// engine (Search, through the adapter package serve wires in); it imports nothing above
// the store. It validates its own inputs and returns *FieldError for the API to
// turn into VALIDATION_ERROR; it never speaks HTTP to its callers.
//
// It must never return or index a row of another org: every query takes the org id, and
// retrieval filters by org and ACL in SQL before ranking leaves the database. It must
// never hold a transaction open across a network call (pages are fetched outside any
// transaction), and never write to a run that was cancelled or taken over by a later
// attempt.
package knowledge
