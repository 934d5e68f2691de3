-- Webhooks (package notify): a notice per filed document for systems that
-- prefer HTTP callbacks to HL7. Filled, like the MDM outbox, in the
-- transaction that files the document; sent by the workers when a webhook
-- URL is configured. Only IDs here: the notice carries no patient data.
CREATE TABLE webhook_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id     bigint      NOT NULL UNIQUE REFERENCES documents(id),
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent')),
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     int         NOT NULL DEFAULT 0,   -- HTTP status of the last attempt (0: no answer)
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, id) WHERE state = 'pending';

CREATE OR REPLACE FUNCTION documents_filed_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hl7_outbox (document_id) VALUES (NEW.id) ON CONFLICT (document_id, message_type) DO NOTHING;
    INSERT INTO webhook_outbox (document_id) VALUES (NEW.id) ON CONFLICT (document_id) DO NOTHING;
    RETURN NEW;
END $$;
