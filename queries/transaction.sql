-- Settings of the transaction a query runs in; no table.
-- The :batch queries travel together, several to a round trip and one implicit transaction
-- (the pipeline of store/pipeline.go): a turn's reads (*ForTurn) and its writes.

-- name: TransactionSetSynchronousCommit :batchexec
-- synchronous_commit for the rest of the transaction it runs in. With 'off', the transaction
-- commits without waiting for its WAL to reach disk: it is committed, and visible everywhere,
-- at once, and durable at the next synchronous commit (the turn's end) or WAL writer flush
-- (docs/decisions.md, "A turn is durable at its end").
SELECT set_config('synchronous_commit', @setting::text, true);
