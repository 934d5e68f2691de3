-- HL7 v2 (package hl7): the outbox of MDM^T02 messages that announce filed
-- documents to the EHR. The filing stage adds a row per document
-- (hl7.Outbox.Enqueue); `paperchart hl7` sends each, locking its row while it
-- does (SELECT ... FOR UPDATE SKIP LOCKED), until the EHR answers AA.
-- No patient data here: the message is built from the document and patient
-- rows when it is sent.
CREATE TABLE hl7_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id     bigint      NOT NULL REFERENCES documents(id),
    message_type    text        NOT NULL DEFAULT 'MDM^T02',
    state           text        NOT NULL DEFAULT 'pending',
    attempts        int         NOT NULL DEFAULT 0,    -- sends tried (answered or not)
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_ack        text        NOT NULL DEFAULT '',   -- MSA-1 of the last answer: AA, AE, AR ('' when none came)
    last_error      text        NOT NULL DEFAULT '',   -- why the last attempt failed, in plain words
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CONSTRAINT hl7_outbox_document UNIQUE (document_id, message_type),
    -- skipped: the document was not filed (or had no patient) when its turn came.
    CONSTRAINT hl7_outbox_state_check CHECK (state IN ('pending', 'sent', 'skipped'))
);
CREATE INDEX hl7_outbox_due ON hl7_outbox (next_attempt_at, id) WHERE state = 'pending';
