-- Release of information (package release): requests for copies of a
-- patient's documents, from the patient, a provider, an insurer or a court.
-- A request is open, in review, released or denied; once released or denied
-- it is kept as it was: a trigger refuses to change or delete it, because
-- the accounting of disclosures (audit entries document.disclosure) points
-- at it for the requester and purpose.
CREATE TABLE release_requests (
    id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requester_name         text        NOT NULL CHECK (length(requester_name) BETWEEN 1 AND 200),
    requester_organisation text        NOT NULL DEFAULT '' CHECK (length(requester_organisation) <= 200),
    requester_address      text        NOT NULL DEFAULT '' CHECK (length(requester_address) <= 500),
    purpose                text        NOT NULL CHECK (purpose IN ('treatment', 'payment', 'patient', 'legal', 'other')),
    purpose_text           text        NOT NULL DEFAULT '' CHECK (length(purpose_text) <= 500),
    patient_id             bigint      NOT NULL REFERENCES patients(id),
    -- Which documents: the explicit list, or filed documents with a date of
    -- service in [service_from, service_to] (either end open) of the types
    -- (none: any type). excluded are those the technician took out.
    document_ids           bigint[]    NOT NULL DEFAULT '{}',
    service_from           date,
    service_to             date,
    types                  text[]      NOT NULL DEFAULT '{}',
    excluded               bigint[]    NOT NULL DEFAULT '{}',
    -- Redaction boxes (release.Redactions as JSON), in page-image
    -- coordinates normalised to 0..1.
    redactions             jsonb       NOT NULL DEFAULT '[]',
    authorization_on_file  boolean     NOT NULL DEFAULT false,
    authorization_document bigint      REFERENCES documents(id),
    received_on            date        NOT NULL,
    due_on                 date        NOT NULL,
    status                 text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_review', 'released', 'denied')),
    deny_reason            text        NOT NULL DEFAULT '' CHECK (length(deny_reason) <= 500),
    created_by             text        NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    decided_by             text        NOT NULL DEFAULT '',
    decided_at             timestamptz,
    -- The packet of a released request (storage.ReleasePacketKey) and what
    -- is in it (release.PacketDocuments as JSON).
    packet_key             text        NOT NULL DEFAULT '',
    packet_sha256          text        NOT NULL DEFAULT '',
    packet_size            bigint      NOT NULL DEFAULT 0,
    packet_pages           integer     NOT NULL DEFAULT 0,
    packet_documents       jsonb       NOT NULL DEFAULT '[]',
    CONSTRAINT release_requests_denied_reason CHECK (status <> 'denied' OR deny_reason <> ''),
    CONSTRAINT release_requests_released_packet CHECK (status <> 'released' OR packet_key <> '')
);
CREATE INDEX release_requests_status_due ON release_requests (status, due_on);
CREATE INDEX release_requests_patient ON release_requests (patient_id);

CREATE FUNCTION release_requests_keep_decided() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN ('released', 'denied') THEN
        RAISE EXCEPTION 'release request % is %: it is kept as decided (% refused)', OLD.id, OLD.status, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER release_requests_decided BEFORE UPDATE OR DELETE ON release_requests
    FOR EACH ROW EXECUTE FUNCTION release_requests_keep_decided();
