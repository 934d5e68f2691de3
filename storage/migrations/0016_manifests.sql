-- Batch manifests (storage/manifest.go): the object store is the record and
-- this database an index of it, so every batch's rows — the batch, its
-- history, pages, documents with their decisions, history and corrections,
-- and the patients they name — are also written to the bucket as one JSON
-- object per batch (manifests/batches/<batch>.json), from which `paperchart
-- rebuild` recreates them into an empty database.
--
-- A change to any of those rows appends a row here naming its batch, in
-- the transaction that makes the change. The writer reads a batch's rows
-- and the changes it can see in one snapshot, writes the manifest, and then
-- deletes exactly those changes: one committed while it wrote stays, and is
-- written next time. Appending takes no lock that another transaction
-- waits on (no unique key, no foreign key), so it adds no lock order to
-- the pipeline's transactions.
CREATE TABLE manifest_changes (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id bigint      NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX manifest_changes_batch ON manifest_changes (batch_id, id);

CREATE FUNCTION manifest_due_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO manifest_changes (batch_id) VALUES (NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION manifest_due_batch_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO manifest_changes (batch_id) VALUES (NEW.batch_id);
    RETURN NULL;
END $$;

CREATE FUNCTION manifest_due_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO manifest_changes (batch_id) SELECT batch_id FROM documents WHERE id = NEW.document_id;
    RETURN NULL;
END $$;

CREATE TRIGGER batches_manifest AFTER INSERT OR UPDATE ON batches
    FOR EACH ROW EXECUTE FUNCTION manifest_due_batch();
CREATE TRIGGER batch_events_manifest AFTER INSERT ON batch_events
    FOR EACH ROW EXECUTE FUNCTION manifest_due_batch_id();
CREATE TRIGGER pages_manifest AFTER INSERT OR UPDATE ON pages
    FOR EACH ROW EXECUTE FUNCTION manifest_due_batch_id();
CREATE TRIGGER documents_manifest AFTER INSERT OR UPDATE ON documents
    FOR EACH ROW EXECUTE FUNCTION manifest_due_batch_id();
CREATE TRIGGER document_events_manifest AFTER INSERT ON document_events
    FOR EACH ROW EXECUTE FUNCTION manifest_due_document();
CREATE TRIGGER document_corrections_manifest AFTER INSERT ON document_corrections
    FOR EACH ROW EXECUTE FUNCTION manifest_due_document();

-- A merge changes the patients the manifests of documents naming the
-- retired patient hold (merges are rare; the candidates are searched).
-- Other changes to a patient's demographics (imports, ADT) do not: the
-- patient index is re-imported from the hospital's own after a rebuild.
-- The patients package's tests merge without the documents table of the
-- documents migration (as patients.RepointDocuments allows): then there is
-- nothing to mark.
CREATE FUNCTION manifest_due_patient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO manifest_changes (batch_id) SELECT DISTINCT batch_id FROM documents
        WHERE patient_id = NEW.id OR patient_suggested = NEW.id
            OR candidates @> jsonb_build_array(jsonb_build_object('patient_id', NEW.id));
    RETURN NULL;
EXCEPTION WHEN undefined_table OR undefined_column THEN
    RETURN NULL;
END $$;
CREATE TRIGGER patients_merged_manifest AFTER UPDATE OF merged_into ON patients
    FOR EACH ROW WHEN (OLD.merged_into IS DISTINCT FROM NEW.merged_into) EXECUTE FUNCTION manifest_due_patient();

-- Batches recorded before manifests existed get theirs written too.
INSERT INTO manifest_changes (batch_id) SELECT id FROM batches;
