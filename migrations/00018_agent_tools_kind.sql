-- Tools the server serves itself: kind 'builtin' (the seeded demo's create_ticket) beside
-- tenants' HTTP tools. A builtin tool has no URL; the server looks its handler up by name, so
-- it never makes a request, and the guard on tenants' tool URLs stays as it is.

-- +goose Up
ALTER TABLE agent_tools ADD COLUMN kind text NOT NULL DEFAULT 'http' CHECK (kind IN ('http', 'builtin'));
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_kind_url_check CHECK ((kind = 'http') = (url <> ''));

-- +goose Down
-- Without the column a builtin tool would be an HTTP tool without a URL.
DELETE FROM agent_tools WHERE kind = 'builtin';
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_kind_url_check;
ALTER TABLE agent_tools DROP COLUMN kind;
