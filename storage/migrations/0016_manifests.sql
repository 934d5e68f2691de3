-- Batch manifests (storage/manifest.go): the object store is the record and
-- this database an index of it, so every batch's rows — the batch, its
-- history, pages, documents with their decisions, history and corrections,
-- and the patients they name — are also written to the bucket as one JSON
-- object per batch (manifests/batches/<batch>.json), from which `paperchart
-- rebuild` recreates them into an empty database.
--
-- A change to any of those rows marks its batch's manifest due, in the
-- transaction that makes the change: gen counts the changes, and the writer
-- clears the mark only if gen is still the one it read with the rows it
-- wrote, so a change made while it writes is written next time.
CREATE TABLE manifest_due (
    batch_id bigint      PRIMARY KEY REFERENCES batches(id),
    gen      bigint      NOT NULL DEFAULT 1,
    since    timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION manifest_mark(batch bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO manifest_due (batch_id) VALUES (batch)
    ON CONFLICT (batch_id) DO UPDATE SET gen = manifest_due.gen + 1;
$$;

CREATE FUNCTION manifest_due_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM manifest_mark(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION manifest_due_batch_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM manifest_mark(NEW.batch_id);
    RETURN NULL;
END $$;

CREATE FUNCTION manifest_due_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM manifest_mark(batch_id) FROM documents WHERE id = NEW.document_id;
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
CREATE FUNCTION manifest_due_patient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM manifest_mark(batch_id) FROM (SELECT DISTINCT batch_id FROM documents
        WHERE patient_id = NEW.id OR patient_suggested = NEW.id
            OR candidates @> jsonb_build_array(jsonb_build_object('patient_id', NEW.id))) named;
    RETURN NULL;
END $$;
CREATE TRIGGER patients_merged_manifest AFTER UPDATE OF merged_into ON patients
    FOR EACH ROW WHEN (OLD.merged_into IS DISTINCT FROM NEW.merged_into) EXECUTE FUNCTION manifest_due_patient();

-- Batches recorded before manifests existed get theirs written too.
INSERT INTO manifest_due (batch_id) SELECT id FROM batches;
