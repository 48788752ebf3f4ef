-- A message references its conversation by (org_id, conversation_id) instead of by two
-- foreign keys, one to the conversation and one to the org. The one key checks more (a
-- message's org is its conversation's org) and costs less: every turn stores two messages,
-- and each check of the old org key took a share lock on the org's row, which every
-- concurrent turn of the org contends for (a multixact per overlapping lock). Deleting an
-- org still deletes its messages, through its conversations.

-- +goose Up
ALTER TABLE conversations ADD CONSTRAINT conversations_org_id_id_key UNIQUE (org_id, id);
ALTER TABLE messages
    DROP CONSTRAINT messages_org_id_fkey,
    DROP CONSTRAINT messages_conversation_id_fkey,
    ADD CONSTRAINT messages_org_conversation_fkey FOREIGN KEY (org_id, conversation_id)
        REFERENCES conversations (org_id, id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE messages
    DROP CONSTRAINT messages_org_conversation_fkey,
    ADD CONSTRAINT messages_org_id_fkey FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE,
    ADD CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (conversation_id)
        REFERENCES conversations (id) ON DELETE CASCADE;
ALTER TABLE conversations DROP CONSTRAINT conversations_org_id_id_key;
