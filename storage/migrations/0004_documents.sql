-- Documents: what a batch becomes once its pages are read. The filing stage
-- (package filing) separates a batch into documents, classifies each, matches
-- it to a patient and either files it (state filed) or leaves it for a
-- person (state review).

-- A batch now ends its processing with a filing stage.
ALTER TABLE batches DROP CONSTRAINT batches_state_check;
ALTER TABLE batches ADD CONSTRAINT batches_state_check CHECK (state IN
    ('received', 'queued', 'splitting', 'ocr', 'assembling', 'filing', 'done', 'failed', 'rejected', 'duplicate'));
DROP INDEX batches_unfinished;
CREATE INDEX batches_unfinished ON batches (updated_at)
    WHERE state IN ('received', 'queued', 'splitting', 'ocr', 'assembling', 'filing');

-- What a page is: an ordinary page, or a cover or separator sheet (not a page
-- of any document); and the barcodes read on it: [{"format": "QR_CODE", "text": "..."}].
ALTER TABLE pages ADD COLUMN kind text NOT NULL DEFAULT 'page'
    CONSTRAINT pages_kind_check CHECK (kind IN ('page', 'cover', 'separator'));
ALTER TABLE pages ADD COLUMN barcodes jsonb NOT NULL DEFAULT '[]';

CREATE TABLE documents (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id           bigint      NOT NULL REFERENCES batches(id),
    seq                int         NOT NULL,             -- 1-based position in the batch
    state              text        NOT NULL,
    pages              int[]       NOT NULL,             -- batch page numbers, in order; no blanks or sheets
    object_key         text        NOT NULL,             -- the document's searchable PDF
    patient_id         bigint      REFERENCES patients(id), -- set once filed; re-pointed by merges
    type               text        NOT NULL DEFAULT '',  -- classify type code ('' while undecided)
    loinc              text        NOT NULL DEFAULT '',
    title              text        NOT NULL DEFAULT '',
    service_date       date,
    facility           text        NOT NULL DEFAULT '',
    -- The three decisions, each with its confidence (0..1) and whether a person must make it.
    separated_by       text        NOT NULL,             -- cover | separator | content | first
    split_confidence   real        NOT NULL,
    split_review       boolean     NOT NULL,
    split_reasons      text[]      NOT NULL DEFAULT '{}',
    type_suggested     text        NOT NULL DEFAULT '',  -- what the classifier (or cover sheet) said
    type_confidence    real        NOT NULL,
    type_review        boolean     NOT NULL,
    type_ranked        jsonb       NOT NULL DEFAULT '[]',
    patient_suggested  bigint      REFERENCES patients(id), -- best candidate
    patient_confidence real        NOT NULL,
    patient_review     boolean     NOT NULL,
    candidates         jsonb       NOT NULL DEFAULT '[]', -- ranked, with agreement reasons
    identifiers        jsonb       NOT NULL DEFAULT '{}', -- what was read on the pages
    review_reasons     text[]      NOT NULL DEFAULT '{}', -- why a person must look, plain words
    filed_by           text        NOT NULL DEFAULT '',  -- 'auto' or the user who filed it
    filed_at           timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT documents_batch_seq UNIQUE (batch_id, seq),
    CONSTRAINT documents_state_check CHECK (state IN ('review', 'filed', 'discarded')),
    CONSTRAINT documents_filed_check CHECK (state <> 'filed' OR (patient_id IS NOT NULL AND type <> '' AND filed_at IS NOT NULL))
);
CREATE INDEX documents_patient ON documents (patient_id, service_date DESC) WHERE state = 'filed';
CREATE INDEX documents_review ON documents (created_at, id) WHERE state = 'review';
CREATE INDEX documents_batch ON documents (batch_id);

-- What people changed, kept to retrain the classifier and to tune matching.
CREATE TABLE document_corrections (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id bigint      NOT NULL REFERENCES documents(id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    field       text        NOT NULL CHECK (field IN ('type', 'patient', 'split')),
    suggested   text        NOT NULL DEFAULT '',
    chosen      text        NOT NULL DEFAULT ''
);
CREATE INDEX document_corrections_document ON document_corrections (document_id);
CREATE INDEX document_corrections_field ON document_corrections (field, at);

-- Document history: filed, reviewed, viewed. Reads of a document are events
-- too, so every access to a patient's document leaves a trace.
CREATE TABLE document_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id bigint      NOT NULL REFERENCES documents(id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    event       text        NOT NULL,
    detail      text        NOT NULL DEFAULT ''
);
CREATE INDEX document_events_document ON document_events (document_id, id);
