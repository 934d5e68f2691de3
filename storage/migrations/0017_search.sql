-- Full-text search over the OCR text of filed documents (package search).
--
-- One row per filed document with the text of its pages as an English
-- tsvector (stemmed: "fractures" finds "fracture"), GIN-indexed, which
-- queries match and rank; and one row per page of it with the page's own
-- tsvector, which says which page of a document found the hit is on. The
-- rows are derived data: a trigger builds a document's rows from
-- pages.text whenever the document is filed, re-cut (its pages change) or
-- leaves the filed state, and whenever the text of one of its pages
-- changes; building deletes the document's rows first, so it may run any
-- number of times with the same result.
-- They are not in the batch manifests: `paperchart rebuild` inserts the
-- documents again and the trigger makes them again.
CREATE TABLE search_documents (
    document_id bigint   PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    tsv         tsvector NOT NULL            -- the text of all its pages, in order
);
CREATE INDEX search_documents_tsv ON search_documents USING gin (tsv);

CREATE TABLE search_pages (
    document_id bigint   NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page        int      NOT NULL,           -- 1-based page of the document
    batch_id    bigint   NOT NULL,
    page_no     int      NOT NULL,           -- the batch page it is
    tsv         tsvector NOT NULL,
    PRIMARY KEY (document_id, page)
);

-- The pages' tsvectors one after the other (|| shifts the positions of the
-- right one past the left's), so a document's text is parsed once.
CREATE AGGREGATE search_tsvector_agg(tsvector) (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '');

-- search_index_document makes document doc's rows again from its pages'
-- text: none unless it is filed. It locks the document's row first, so two
-- transactions building the same rows (a re-cut and a page's text changed)
-- take turns instead of one failing on the other's rows.
CREATE FUNCTION search_index_document(doc bigint) RETURNS void LANGUAGE sql AS $$
    SELECT id FROM documents WHERE id = doc FOR UPDATE;
    DELETE FROM search_pages WHERE document_id = doc;
    DELETE FROM search_documents WHERE document_id = doc;
    INSERT INTO search_pages (document_id, page, batch_id, page_no, tsv)
        SELECT d.id, o.n, d.batch_id, p.page_no, to_tsvector('english', p.text)
        FROM documents d
        CROSS JOIN LATERAL unnest(d.pages) WITH ORDINALITY AS o(no, n)
        JOIN pages p ON p.batch_id = d.batch_id AND p.page_no = o.no
        WHERE d.id = doc AND d.state = 'filed';
    INSERT INTO search_documents (document_id, tsv)
        SELECT doc, search_tsvector_agg(tsv ORDER BY page) FROM search_pages WHERE document_id = doc
        GROUP BY document_id;
$$;

CREATE FUNCTION search_document_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_document(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION search_page_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_document(d.id) FROM documents d
        WHERE d.batch_id = NEW.batch_id AND NEW.page_no = ANY(d.pages) AND d.state = 'filed';
    RETURN NULL;
END $$;

CREATE TRIGGER documents_search_insert AFTER INSERT ON documents
    FOR EACH ROW WHEN (NEW.state = 'filed') EXECUTE FUNCTION search_document_changed();
CREATE TRIGGER documents_search_update AFTER UPDATE OF state, pages, batch_id ON documents
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.pages IS DISTINCT FROM NEW.pages
                       OR OLD.batch_id IS DISTINCT FROM NEW.batch_id)
    EXECUTE FUNCTION search_document_changed();
CREATE TRIGGER pages_search_text AFTER UPDATE OF text ON pages
    FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text) EXECUTE FUNCTION search_page_changed();

-- Documents filed before search existed.
SELECT search_index_document(id) FROM documents WHERE state = 'filed';
