-- The document PDF's size and SHA-1, as FHIR's Attachment.size and
-- Attachment.hash carry them, recorded when the PDF is written.
ALTER TABLE documents ADD COLUMN pdf_size bigint NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN pdf_sha1 text NOT NULL DEFAULT '';
CREATE INDEX documents_filed_at ON documents (patient_id, filed_at) WHERE state = 'filed';
