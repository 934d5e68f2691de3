-- Batches: one row for every file taken from a drop folder.
CREATE TABLE batches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text        NOT NULL,             -- drop folder name
    name          text        NOT NULL,             -- file name as dropped
    ingest_key    text        NOT NULL UNIQUE,      -- identifies one dropped file, so a re-run of ingest finds its batch
    sha256        text        NOT NULL,
    size          bigint      NOT NULL,
    format        text        NOT NULL DEFAULT '',
    state         text        NOT NULL,
    reason_code   text        NOT NULL DEFAULT '',
    reason        text        NOT NULL DEFAULT '',
    duplicate_of  bigint      REFERENCES batches(id),
    original_key  text        NOT NULL DEFAULT '',
    searchable_key text       NOT NULL DEFAULT '',
    page_count    int         NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    CONSTRAINT batches_state_check CHECK (state IN
        ('received', 'queued', 'splitting', 'ocr', 'assembling', 'done', 'failed', 'rejected', 'duplicate'))
);
-- The first batch with given bytes; later drops of the same bytes are duplicates of it.
CREATE UNIQUE INDEX batches_first_sha256 ON batches (sha256) WHERE duplicate_of IS NULL;
CREATE INDEX batches_unfinished ON batches (updated_at)
    WHERE state IN ('received', 'queued', 'splitting', 'ocr', 'assembling');
CREATE INDEX batches_created ON batches (created_at DESC);

-- Pages: one row per page of a batch, created by the split stage.
CREATE TABLE pages (
    batch_id      bigint      NOT NULL REFERENCES batches(id),
    page_no       int         NOT NULL,
    state         text        NOT NULL DEFAULT 'pending',
    source_key    text        NOT NULL,             -- the page as split from the original
    source_kind   text        NOT NULL,             -- image | pdf
    source_dpi    real        NOT NULL DEFAULT 0,
    source_rotate int         NOT NULL DEFAULT 0,
    image_key     text        NOT NULL DEFAULT '',  -- normalised page image (upright, deskewed)
    ocr_key       text        NOT NULL DEFAULT '',  -- OCR result JSON
    text          text        NOT NULL DEFAULT '',
    word_count    int         NOT NULL DEFAULT 0,
    mean_conf     real        NOT NULL DEFAULT 0,
    rotation      int         NOT NULL DEFAULT 0,
    skew          real        NOT NULL DEFAULT 0,
    blank         boolean     NOT NULL DEFAULT false,
    osd_used      boolean     NOT NULL DEFAULT false,
    dpi           int         NOT NULL DEFAULT 0,
    width         int         NOT NULL DEFAULT 0,
    height        int         NOT NULL DEFAULT 0,
    ocr_ms        int         NOT NULL DEFAULT 0,
    error         text        NOT NULL DEFAULT '',
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, page_no),
    CONSTRAINT pages_state_check CHECK (state IN ('pending', 'done', 'failed'))
);

-- Batch events: the history a person reads in `paperchart batches show`.
CREATE TABLE batch_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id  bigint      NOT NULL REFERENCES batches(id),
    at        timestamptz NOT NULL DEFAULT now(),
    event     text        NOT NULL,
    detail    text        NOT NULL DEFAULT ''
);
CREATE INDEX batch_events_batch ON batch_events (batch_id, id);
