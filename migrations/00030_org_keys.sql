-- Ready to distribute by org (issue 15, docs/scaling.md): every tenant table's primary key
-- and unique indexes include org_id, and every foreign key between tenant tables pairs
-- org_id with org_id, so that the schema can be sharded by org_id (for example on Citus,
-- which requires both) without a redesign. TestTenantTablesAreReadyToDistributeByOrg reads
-- the catalog and keeps it so.
--
-- Primary keys lead with org_id, except where a row is found by its id alone before its org
-- is known (an agent, conversation or session named by a /ws frame; a backplane event by
-- the global id a hub reads from): there (id, org_id), which serves both lookups with one
-- index. A composite foreign key may reference either order. API keys are found by their
-- hash alone, hence (key_hash, org_id).
--
-- messages.seq loses its global unique index: it is an identity, unique by construction, and
-- every read of it goes through (org_id, conversation_id, seq); the index cost every message
-- insert an entry. A message's participant reference is set to null on the participant's
-- deletion, leaving its org_id (PostgreSQL 15's column list for SET NULL).

-- +goose Up
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_agent_id_fkey;
ALTER TABLE chunks DROP CONSTRAINT chunks_document_id_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_agent_id_fkey;
ALTER TABLE documents
    DROP CONSTRAINT documents_connector_id_fkey,
    DROP CONSTRAINT documents_document_set_id_fkey,
    DROP CONSTRAINT documents_run_id_fkey;
ALTER TABLE messages
    DROP CONSTRAINT messages_participant_id_fkey,
    DROP CONSTRAINT messages_org_conversation_fkey;
ALTER TABLE participants DROP CONSTRAINT participants_conversation_id_fkey;
ALTER TABLE pending_approvals
    DROP CONSTRAINT pending_approvals_agent_id_fkey,
    DROP CONSTRAINT pending_approvals_conversation_id_fkey,
    DROP CONSTRAINT pending_approvals_session_id_fkey;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_agent_id_fkey,
    DROP CONSTRAINT sessions_agent_participant_id_fkey,
    DROP CONSTRAINT sessions_conversation_id_fkey,
    DROP CONSTRAINT sessions_user_participant_id_fkey;
ALTER TABLE usage_events DROP CONSTRAINT usage_events_gateway_key_id_fkey;

ALTER TABLE agents DROP CONSTRAINT agents_pkey, ADD PRIMARY KEY (id, org_id);
-- conversations_org_id_id_key (00016) stays: later tables' keys reference it.
ALTER TABLE conversations DROP CONSTRAINT conversations_pkey, ADD PRIMARY KEY (id, org_id);
ALTER TABLE sessions
    DROP CONSTRAINT sessions_resume_token_hash_key,
    ADD CONSTRAINT sessions_org_resume_token_hash_key UNIQUE (org_id, resume_token_hash),
    DROP CONSTRAINT sessions_pkey, ADD PRIMARY KEY (id, org_id);
ALTER TABLE backplane_events DROP CONSTRAINT backplane_events_pkey, ADD PRIMARY KEY (id, org_id);
ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_key_hash_key,
    ADD CONSTRAINT api_keys_key_hash_org_key UNIQUE (key_hash, org_id),
    DROP CONSTRAINT api_keys_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE messages
    DROP CONSTRAINT messages_seq_key,
    DROP CONSTRAINT messages_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE chunks DROP CONSTRAINT chunks_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE connectors DROP CONSTRAINT connectors_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE document_sets DROP CONSTRAINT document_sets_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE documents DROP CONSTRAINT documents_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE gateway_keys DROP CONSTRAINT gateway_keys_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE indexing_runs DROP CONSTRAINT indexing_runs_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE participants DROP CONSTRAINT participants_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE pending_approvals DROP CONSTRAINT pending_approvals_pkey, ADD PRIMARY KEY (org_id, id);
ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey, ADD PRIMARY KEY (org_id, id);

ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_agent_fkey FOREIGN KEY (org_id, agent_id)
    REFERENCES agents (org_id, id) ON DELETE CASCADE;
ALTER TABLE chunks ADD CONSTRAINT chunks_document_fkey FOREIGN KEY (org_id, document_id)
    REFERENCES documents (org_id, id) ON DELETE CASCADE;
ALTER TABLE conversations ADD CONSTRAINT conversations_agent_fkey FOREIGN KEY (org_id, agent_id)
    REFERENCES agents (org_id, id);
ALTER TABLE documents
    ADD CONSTRAINT documents_connector_fkey FOREIGN KEY (org_id, connector_id)
        REFERENCES connectors (org_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT documents_document_set_fkey FOREIGN KEY (org_id, document_set_id)
        REFERENCES document_sets (org_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT documents_run_fkey FOREIGN KEY (org_id, run_id)
        REFERENCES indexing_runs (org_id, id) ON DELETE CASCADE;
-- The conversation's key first: its check runs first, and names the error of a message
-- stored in another org's conversation.
ALTER TABLE messages
    ADD CONSTRAINT messages_org_conversation_fkey FOREIGN KEY (org_id, conversation_id)
        REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT messages_participant_fkey FOREIGN KEY (org_id, participant_id)
        REFERENCES participants (org_id, id) ON DELETE SET NULL (participant_id);
ALTER TABLE participants ADD CONSTRAINT participants_conversation_fkey FOREIGN KEY (org_id, conversation_id)
    REFERENCES conversations (org_id, id) ON DELETE CASCADE;
ALTER TABLE pending_approvals
    ADD CONSTRAINT pending_approvals_agent_fkey FOREIGN KEY (org_id, agent_id)
        REFERENCES agents (org_id, id),
    ADD CONSTRAINT pending_approvals_conversation_fkey FOREIGN KEY (org_id, conversation_id)
        REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT pending_approvals_session_fkey FOREIGN KEY (org_id, session_id)
        REFERENCES sessions (org_id, id) ON DELETE CASCADE;
ALTER TABLE sessions
    ADD CONSTRAINT sessions_agent_fkey FOREIGN KEY (org_id, agent_id)
        REFERENCES agents (org_id, id),
    ADD CONSTRAINT sessions_agent_participant_fkey FOREIGN KEY (org_id, agent_participant_id)
        REFERENCES participants (org_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT sessions_conversation_fkey FOREIGN KEY (org_id, conversation_id)
        REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT sessions_user_participant_fkey FOREIGN KEY (org_id, user_participant_id)
        REFERENCES participants (org_id, id) ON DELETE CASCADE;
ALTER TABLE usage_events ADD CONSTRAINT usage_events_gateway_key_fkey FOREIGN KEY (org_id, gateway_key_id)
    REFERENCES gateway_keys (org_id, id);

-- +goose Down
ALTER TABLE usage_events DROP CONSTRAINT usage_events_gateway_key_fkey;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_agent_fkey,
    DROP CONSTRAINT sessions_agent_participant_fkey,
    DROP CONSTRAINT sessions_conversation_fkey,
    DROP CONSTRAINT sessions_user_participant_fkey;
ALTER TABLE pending_approvals
    DROP CONSTRAINT pending_approvals_agent_fkey,
    DROP CONSTRAINT pending_approvals_conversation_fkey,
    DROP CONSTRAINT pending_approvals_session_fkey;
ALTER TABLE participants DROP CONSTRAINT participants_conversation_fkey;
ALTER TABLE messages
    DROP CONSTRAINT messages_participant_fkey,
    DROP CONSTRAINT messages_org_conversation_fkey;
ALTER TABLE documents
    DROP CONSTRAINT documents_connector_fkey,
    DROP CONSTRAINT documents_document_set_fkey,
    DROP CONSTRAINT documents_run_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_agent_fkey;
ALTER TABLE chunks DROP CONSTRAINT chunks_document_fkey;
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_agent_fkey;

ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey, ADD PRIMARY KEY (id);
ALTER TABLE pending_approvals DROP CONSTRAINT pending_approvals_pkey, ADD PRIMARY KEY (id);
ALTER TABLE participants DROP CONSTRAINT participants_pkey, ADD PRIMARY KEY (id);
ALTER TABLE indexing_runs DROP CONSTRAINT indexing_runs_pkey, ADD PRIMARY KEY (id);
ALTER TABLE gateway_keys DROP CONSTRAINT gateway_keys_pkey, ADD PRIMARY KEY (id);
ALTER TABLE documents DROP CONSTRAINT documents_pkey, ADD PRIMARY KEY (id);
ALTER TABLE document_sets DROP CONSTRAINT document_sets_pkey, ADD PRIMARY KEY (id);
ALTER TABLE connectors DROP CONSTRAINT connectors_pkey, ADD PRIMARY KEY (id);
ALTER TABLE chunks DROP CONSTRAINT chunks_pkey, ADD PRIMARY KEY (id);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD PRIMARY KEY (id);
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_pkey, ADD PRIMARY KEY (id);
ALTER TABLE messages
    DROP CONSTRAINT messages_pkey, ADD PRIMARY KEY (id),
    ADD CONSTRAINT messages_seq_key UNIQUE (seq);
ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_pkey, ADD PRIMARY KEY (id),
    DROP CONSTRAINT api_keys_key_hash_org_key,
    ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash);
ALTER TABLE backplane_events DROP CONSTRAINT backplane_events_pkey, ADD PRIMARY KEY (id);
ALTER TABLE sessions
    DROP CONSTRAINT sessions_pkey, ADD PRIMARY KEY (id),
    DROP CONSTRAINT sessions_org_resume_token_hash_key,
    ADD CONSTRAINT sessions_resume_token_hash_key UNIQUE (resume_token_hash);
ALTER TABLE conversations DROP CONSTRAINT conversations_pkey, ADD PRIMARY KEY (id);
ALTER TABLE agents DROP CONSTRAINT agents_pkey, ADD PRIMARY KEY (id);

ALTER TABLE usage_events ADD CONSTRAINT usage_events_gateway_key_id_fkey FOREIGN KEY (gateway_key_id)
    REFERENCES gateway_keys (id);
ALTER TABLE sessions
    ADD CONSTRAINT sessions_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id),
    ADD CONSTRAINT sessions_agent_participant_id_fkey FOREIGN KEY (agent_participant_id)
        REFERENCES participants (id) ON DELETE CASCADE,
    ADD CONSTRAINT sessions_conversation_id_fkey FOREIGN KEY (conversation_id)
        REFERENCES conversations (id) ON DELETE CASCADE,
    ADD CONSTRAINT sessions_user_participant_id_fkey FOREIGN KEY (user_participant_id)
        REFERENCES participants (id) ON DELETE CASCADE;
ALTER TABLE pending_approvals
    ADD CONSTRAINT pending_approvals_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id),
    ADD CONSTRAINT pending_approvals_conversation_id_fkey FOREIGN KEY (conversation_id)
        REFERENCES conversations (id) ON DELETE CASCADE,
    ADD CONSTRAINT pending_approvals_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES sessions (id) ON DELETE CASCADE;
ALTER TABLE participants ADD CONSTRAINT participants_conversation_id_fkey FOREIGN KEY (conversation_id)
    REFERENCES conversations (id) ON DELETE CASCADE;
ALTER TABLE messages
    ADD CONSTRAINT messages_participant_id_fkey FOREIGN KEY (participant_id)
        REFERENCES participants (id) ON DELETE SET NULL,
    ADD CONSTRAINT messages_org_conversation_fkey FOREIGN KEY (org_id, conversation_id)
        REFERENCES conversations (org_id, id) ON DELETE CASCADE;
ALTER TABLE documents
    ADD CONSTRAINT documents_connector_id_fkey FOREIGN KEY (connector_id)
        REFERENCES connectors (id) ON DELETE CASCADE,
    ADD CONSTRAINT documents_document_set_id_fkey FOREIGN KEY (document_set_id)
        REFERENCES document_sets (id) ON DELETE CASCADE,
    ADD CONSTRAINT documents_run_id_fkey FOREIGN KEY (run_id)
        REFERENCES indexing_runs (id) ON DELETE CASCADE;
ALTER TABLE conversations ADD CONSTRAINT conversations_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id);
ALTER TABLE chunks ADD CONSTRAINT chunks_document_id_fkey FOREIGN KEY (document_id)
    REFERENCES documents (id) ON DELETE CASCADE;
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_agent_id_fkey FOREIGN KEY (agent_id)
    REFERENCES agents (id) ON DELETE CASCADE;
