-- Audit trail (package audit): who read or changed what, when, from where,
-- with what outcome. Append-only and hash-chained: each entry's hash covers
-- its fields and the hash of the entry before it, so a changed, deleted or
-- reordered entry breaks the chain (`paperchart audit verify`).

CREATE TABLE audit_log (
    id          bigint      PRIMARY KEY,          -- 1, 2, 3...: given by Record under the chain lock, never a gap
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,             -- user:ann, token:ehr-prod, system
    action      text        NOT NULL,             -- fhir.read, binary.download, review.file, signin.fail...
    resource    text        NOT NULL DEFAULT '',  -- DocumentReference/12, Patient/7, Binary/12
    -- No foreign keys: an access is recorded even when what was asked for
    -- does not exist, and an audit write must never be refused.
    patient_id  bigint,
    document_id bigint,
    remote      text        NOT NULL DEFAULT '',  -- the client's address, as the server knows it
    outcome     text        NOT NULL,
    detail      text        NOT NULL DEFAULT '',  -- never page text, names or secrets
    prev_hash   text        NOT NULL,             -- the previous entry's hash; 64 zeros for the first
    hash        text        NOT NULL,             -- hex SHA-256 of the entry (see audit.Hash)
    CONSTRAINT audit_log_id_check CHECK (id > 0),
    CONSTRAINT audit_log_actor_check CHECK (actor <> '' AND length(actor) <= 200),
    CONSTRAINT audit_log_action_check CHECK (action ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    CONSTRAINT audit_log_outcome_check CHECK (outcome IN ('ok', 'denied', 'error', 'not-found')),
    CONSTRAINT audit_log_hash_check CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$')
);
-- Accounting of disclosures: who saw this patient's or this document's pages.
CREATE INDEX audit_log_patient ON audit_log (patient_id, id) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_log_document ON audit_log (document_id, id) WHERE document_id IS NOT NULL;
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_at ON audit_log (at);

-- The head of the chain: one row, locked (SELECT ... FOR UPDATE) by every
-- writer so that concurrent writers form one chain. It also tells Verify
-- where the chain ends, so that deleting its last entries is seen too.
CREATE TABLE audit_chain (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id   bigint  NOT NULL,
    last_hash text    NOT NULL CHECK (last_hash ~ '^[0-9a-f]{64}$')
);
INSERT INTO audit_chain (last_id, last_hash) VALUES (0, repeat('0', 64));

-- Entries are never changed or deleted, whoever asks. Only the tables' owner
-- can get past this (ALTER TABLE ... DISABLE TRIGGER), and Verify sees it.
CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- The head only moves forward, one entry at a time, to an entry that exists.
CREATE FUNCTION audit_chain_advance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'the audit chain head is never deleted: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.last_id <> OLD.last_id + 1 OR NOT EXISTS (
            SELECT 1 FROM audit_log WHERE id = NEW.last_id AND hash = NEW.last_hash AND prev_hash = OLD.last_hash) THEN
        RAISE EXCEPTION 'the audit chain head moves only to the next entry'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_chain_forward_only BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_advance();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
