-- Erasure and retention (ADMIN-API §9.17, §9.6). Erasing an end user or a conversation keeps
-- the usage rows of its turns, so that the org's aggregate numbers and budget do not change,
-- but clears what ties them to the erased conversation: its conversation and session ids and
-- the client-chosen request id. Retention deletes an org's conversations whose last activity
-- is older than conversation_retention_days (null keeps everything). It needs no index of
-- its own: a conversation last active before a moment was created before it too, so the
-- job walks conversations_org_created_idx, and an index on updated_at would cost every
-- message its HOT update of the conversation row.

-- +goose Up
ALTER TABLE usage_events
    ALTER COLUMN conversation_id DROP NOT NULL,
    ALTER COLUMN session_id DROP NOT NULL,
    ALTER COLUMN request_id DROP NOT NULL;

ALTER TABLE org_settings
    ADD COLUMN conversation_retention_days integer CHECK (conversation_retention_days BETWEEN 1 AND 36500);

-- +goose Down
ALTER TABLE org_settings DROP COLUMN conversation_retention_days;
-- The ids of erased conversations are gone for good: the nil UUID and an empty request id
-- stand in for them so that the columns can be required again.
UPDATE usage_events SET conversation_id = coalesce(conversation_id, '00000000-0000-0000-0000-000000000000'),
                        session_id = coalesce(session_id, '00000000-0000-0000-0000-000000000000'),
                        request_id = coalesce(request_id, '')
WHERE conversation_id IS NULL OR session_id IS NULL OR request_id IS NULL;
ALTER TABLE usage_events
    ALTER COLUMN conversation_id SET NOT NULL,
    ALTER COLUMN session_id SET NOT NULL,
    ALTER COLUMN request_id SET NOT NULL;
