-- Every document that becomes filed — by the pipeline or by a person in
-- review — is announced to the EHR: the row joins the MDM^T02 outbox in the
-- same transaction that files it, so no filing is ever missed or announced
-- twice. `paperchart hl7` sends what waits there when --mdm-endpoint is set.
CREATE FUNCTION documents_filed_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hl7_outbox (document_id) VALUES (NEW.id) ON CONFLICT (document_id, message_type) DO NOTHING;
    RETURN NEW;
END $$;

CREATE TRIGGER documents_filed_insert AFTER INSERT ON documents
    FOR EACH ROW WHEN (NEW.state = 'filed') EXECUTE FUNCTION documents_filed_to_outbox();
CREATE TRIGGER documents_filed_update AFTER UPDATE OF state ON documents
    FOR EACH ROW WHEN (NEW.state = 'filed' AND OLD.state <> 'filed') EXECUTE FUNCTION documents_filed_to_outbox();
