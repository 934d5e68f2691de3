-- Re-indexing a filed document (storage.DB.MoveFiled): a technician moves a
-- filed document to another patient and/or type, the wrong-patient case
-- found later. The placement the EHR was told of is not rewritten: its row
-- becomes state 'moved' (FHIR status entered-in-error, an MDM^T11 cancels
-- it) and a new row, with a new ID, carries the new placement (FHIR
-- relatesTo replaces, an MDM^T02 announces it). Both rows keep the same
-- batch position, PDF bytes and decisions; the old placement, who moved it
-- and why are in both documents' histories (document_events).
ALTER TABLE documents DROP CONSTRAINT documents_state_check;
ALTER TABLE documents ADD CONSTRAINT documents_state_check CHECK (state IN ('review', 'filed', 'discarded', 'merged', 'moved'));

-- The document a moved one became points back at it; a document is replaced
-- at most once.
ALTER TABLE documents ADD COLUMN replaces bigint REFERENCES documents(id);
CREATE UNIQUE INDEX documents_replaces ON documents (replaces) WHERE replaces IS NOT NULL;

-- One live document per position of a batch: the moved rows keep theirs.
ALTER TABLE documents DROP CONSTRAINT documents_batch_seq;
CREATE UNIQUE INDEX documents_batch_seq ON documents (batch_id, seq) WHERE state <> 'moved';

-- A moved document's T11 (document cancel) joins the outbox beside its T02.
ALTER TABLE hl7_outbox ADD CONSTRAINT hl7_outbox_message_type_check CHECK (message_type IN ('MDM^T02', 'MDM^T11'));
