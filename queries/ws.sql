-- Queries of the /ws protocol handler (PROTOCOL.md) beyond the shared chat queries.

-- name: ListReadableConversations :many
-- One org's part of a connection's list_conversations (PROTOCOL §4.5): the granted
-- conversations plus those owned by one of the connection's identities or by its verified
-- email, only those with at least one message, most recent activity first.
SELECT c.id, c.title, c.message_count, c.last_message_at,
       coalesce((SELECT m.text FROM messages m
                 WHERE m.org_id = c.org_id AND m.conversation_id = c.id AND m.direction = 'inbound'
                 ORDER BY m.seq LIMIT 1), '')::text AS first_inbound
FROM conversations c
WHERE c.org_id = @org_id AND c.message_count > 0 AND c.last_message_at IS NOT NULL
  AND (sqlc.narg(agent_id)::uuid IS NULL OR c.agent_id = sqlc.narg(agent_id)::uuid)
  AND (c.id = ANY(@granted::uuid[])
       OR EXISTS (SELECT 1 FROM participants p
                  WHERE p.org_id = c.org_id AND p.conversation_id = c.id AND p.type = 'user'
                    AND (p.external_id = ANY(@identities::text[])
                         OR (@email::text <> '' AND lower(btrim(p.email)) = lower(btrim(@email::text))))))
ORDER BY c.last_message_at DESC, c.id DESC
LIMIT @lim;

-- name: GetAgentNameAnyState :one
-- get_session names the session's agent even after it was disabled or deleted.
SELECT name FROM agents WHERE org_id = @org_id AND id = @id;
