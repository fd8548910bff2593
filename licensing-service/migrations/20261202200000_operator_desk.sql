-- The operator's desk (issue 16): sales lists, revenue, search that finds.

-- Revenue reads settled invoices by settlement time; the invoice list filters
-- by product and code, and search finds a license by the provider's invoice id.
CREATE INDEX invoices_settled ON invoices(settled_at) WHERE status = 'settled';
CREATE INDEX invoices_product_created ON invoices(product_id, created_at);
CREATE INDEX invoices_code ON invoices(code_id) WHERE code_id IS NOT NULL;
CREATE INDEX invoices_provider_invoice ON invoices(provider_invoice_id) WHERE provider_invoice_id IS NOT NULL;

-- Search: a fingerprint bound into a key, a machine's hostname (any case).
CREATE INDEX licenses_fingerprint ON licenses(fingerprint) WHERE fingerprint IS NOT NULL;
CREATE INDEX machines_hostname ON machines(hostname COLLATE NOCASE) WHERE hostname IS NOT NULL;

-- Substrings of keys, e-mail addresses and notes: a trigram index, kept by
-- triggers (the key never changes; e-mail and note may).
CREATE VIRTUAL TABLE license_text USING fts5(
    license_key, buyer_email, note,
    tokenize = 'trigram'
);
INSERT INTO license_text (rowid, license_key, buyer_email, note)
    SELECT rowid, license_key, coalesce(buyer_email, ''), coalesce(note, '') FROM licenses;

CREATE TRIGGER license_text_insert AFTER INSERT ON licenses BEGIN
    INSERT INTO license_text (rowid, license_key, buyer_email, note)
    VALUES (NEW.rowid, NEW.license_key, coalesce(NEW.buyer_email, ''), coalesce(NEW.note, ''));
END;
CREATE TRIGGER license_text_update AFTER UPDATE OF license_key, buyer_email, note ON licenses BEGIN
    UPDATE license_text SET license_key = NEW.license_key, buyer_email = coalesce(NEW.buyer_email, ''),
        note = coalesce(NEW.note, '')
    WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER license_text_delete AFTER DELETE ON licenses BEGIN
    DELETE FROM license_text WHERE rowid = OLD.rowid;
END;
