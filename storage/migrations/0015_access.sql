-- Minimum necessary and an abuse-proof sign-in (packages users, audit).

-- A document's history is append-only, like the audit trail: reads,
-- decisions and break-the-glass reasons are never changed or deleted.
CREATE FUNCTION document_events_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'document history is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER document_events_append_only BEFORE UPDATE OR DELETE ON document_events
    FOR EACH ROW EXECUTE FUNCTION document_events_refuse();
CREATE TRIGGER document_events_no_truncate BEFORE TRUNCATE ON document_events
    FOR EACH STATEMENT EXECUTE FUNCTION document_events_refuse();
-- Who worked on a document lately (users.Access).
CREATE INDEX document_events_actor ON document_events (document_id, actor, at);

-- The records role (release of information) reads any filed document.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('indexer', 'records', 'supervisor', 'admin'));

-- Sign-in locks are per (name, address); an admin's unlock is an attempt
-- row of its own that forgets earlier failures. name is a real user's name,
-- or a hash of what was typed.
ALTER TABLE sign_in_attempts DROP CONSTRAINT sign_in_attempts_outcome_check;
ALTER TABLE sign_in_attempts ADD CONSTRAINT sign_in_attempts_outcome_check CHECK (outcome IN
    ('ok', 'wrong_password', 'unknown_user', 'disabled', 'locked', 'unlocked'));
CREATE INDEX sign_in_attempts_name_remote_at ON sign_in_attempts (name, remote, at);
CREATE INDEX sign_in_attempts_remote_at ON sign_in_attempts (remote, at);

-- Denied anonymous requests, counted per source address and minute instead
-- of one audit entry each (audit.Log.Denied); the first of each minute also
-- goes to the audit trail.
CREATE TABLE audit_denials (
    minute timestamptz NOT NULL,
    remote text        NOT NULL,
    action text        NOT NULL,
    count  bigint      NOT NULL CHECK (count > 0),
    PRIMARY KEY (minute, remote, action),
    CONSTRAINT audit_denials_remote_check CHECK (length(remote) <= 200),
    CONSTRAINT audit_denials_action_check CHECK (action ~ '^[a-z][a-z0-9_.-]{0,63}$')
);
