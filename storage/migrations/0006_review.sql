-- The review queue worked by people: a technician claims the document they
-- open, so that two people never work the same one; a claim expires.
ALTER TABLE documents ADD COLUMN claimed_by    text NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN claimed_until timestamptz;

-- A document a person merged into the one before it ends as merged, with a
-- pointer to it; it is kept, like every document, never deleted.
ALTER TABLE documents ADD COLUMN merged_into bigint REFERENCES documents(id);
ALTER TABLE documents DROP CONSTRAINT documents_state_check;
ALTER TABLE documents ADD CONSTRAINT documents_state_check CHECK (state IN ('review', 'filed', 'discarded', 'merged'));
-- Corrections now include a person's split, merge and page moves.
ALTER TABLE document_corrections DROP CONSTRAINT document_corrections_field_check;
ALTER TABLE document_corrections ADD CONSTRAINT document_corrections_field_check CHECK (field IN ('type', 'patient', 'split', 'service_date'));
