-- Master patient index (package patients): one row per patient record as the
-- hospital's systems know it, keyed by its MRN within an assigning authority.

-- Both extensions are trusted in PostgreSQL 13+: the database owner (the role
-- paperchart) may create them without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;        -- trigram similarity, % operator, GIN opclass
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;  -- dmetaphone (double metaphone)

-- The MRN as OCR may misread it, for candidate search: letters in upper case,
-- then O→0, I→1, S→5, B→8, Z→2, and lower-case l and | → 1; spaces, dashes,
-- dots and slashes dropped; leading zeros dropped. ASCII only, so that no
-- collation changes it. patients.MRNKey in Go computes the same.
CREATE FUNCTION patient_mrn_key(mrn text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ltrim(translate(mrn, 'abcdefghijklmnopqrstuvwxyzOISBZ| -./', 'A8CDEFGH1JK1MN0PQR5TUVWXY2015821'), '0');

CREATE TABLE patients (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assigning_authority text        NOT NULL,
    mrn                 text        NOT NULL,
    family              text        NOT NULL DEFAULT '',
    given               text        NOT NULL DEFAULT '',
    birth_date          date,
    sex                 text        NOT NULL DEFAULT '',
    address             text        NOT NULL DEFAULT '',
    city                text        NOT NULL DEFAULT '',
    postal_code         text        NOT NULL DEFAULT '',
    phone               text        NOT NULL DEFAULT '',
    active              boolean     NOT NULL DEFAULT true,
    merged_into         bigint      REFERENCES patients(id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patients_authority_mrn UNIQUE (assigning_authority, mrn),
    CONSTRAINT patients_key_check CHECK (assigning_authority <> '' AND mrn <> ''),
    CONSTRAINT patients_sex_check CHECK (sex IN ('', 'male', 'female', 'other', 'unknown')),
    CONSTRAINT patients_merge_check CHECK (merged_into IS NULL OR (merged_into <> id AND NOT active))
);
-- Candidate search: similar names, names that sound alike, birth dates, MRNs.
CREATE INDEX patients_family_trgm ON patients USING gin (lower(family) gin_trgm_ops);
CREATE INDEX patients_given_trgm ON patients USING gin (lower(given) gin_trgm_ops);
CREATE INDEX patients_family_dmetaphone ON patients (dmetaphone(family));
CREATE INDEX patients_birth_date ON patients (birth_date);
CREATE INDEX patients_mrn ON patients (mrn);
CREATE INDEX patients_mrn_key ON patients (patient_mrn_key(mrn));
CREATE INDEX patients_merged_into ON patients (merged_into) WHERE merged_into IS NOT NULL;

-- Other identifiers of a patient (FHIR Patient.identifier besides the MRN).
CREATE TABLE patient_identifiers (
    patient_id bigint NOT NULL REFERENCES patients(id),
    system     text   NOT NULL,
    value      text   NOT NULL,
    CONSTRAINT patient_identifiers_system_value UNIQUE (system, value)
);
CREATE INDEX patient_identifiers_patient ON patient_identifiers (patient_id);

-- Merges: the retired record became inactive and points at the survivor.
CREATE TABLE patient_merges (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    retired_id   bigint      NOT NULL REFERENCES patients(id),
    surviving_id bigint      NOT NULL REFERENCES patients(id),
    at           timestamptz NOT NULL DEFAULT now(),
    source       text        NOT NULL DEFAULT ''
);
CREATE INDEX patient_merges_retired ON patient_merges (retired_id);
CREATE INDEX patient_merges_surviving ON patient_merges (surviving_id);
