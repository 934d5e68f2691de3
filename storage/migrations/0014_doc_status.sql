-- A document whose split and patient are sure but whose type is in doubt is
-- filed under its patient all the same, marked preliminary (FHIR
-- DocumentReference.docStatus), and waits in the type-check queue until a
-- person confirms or corrects its type, which makes it final.
ALTER TABLE documents ADD COLUMN doc_status text NOT NULL DEFAULT 'final'
    CHECK (doc_status IN ('preliminary', 'final'));
CREATE INDEX documents_type_check ON documents (id) WHERE state = 'filed' AND doc_status = 'preliminary';
