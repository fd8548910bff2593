-- Issue 19, lean rows: the trigram index no longer holds license keys. The
-- key's trigrams were 846 bytes per license and FTS5's own copy of the key
-- another 257, and writing them was a large part of issuing a key. Parts of
-- keys are now found by a scan of `licenses.license_key` (db/search.rs); whole
-- keys by `key_hash`.
--
-- `license_text` indexes e-mail addresses and notes only, as an external-content
-- table over `licenses`: no copy of the text (FTS5 reads `buyer_email` and
-- `note` from `licenses` by rowid when it needs them) and no per-row sizes
-- (columnsize = 0; nothing here ranks). Every license has a row, but one
-- with neither e-mail nor note has no trigrams and so costs no bytes; keeping
-- it keeps FTS5's row count equal to the table's, so FTS5's own check
-- (`INSERT INTO license_text (license_text, rank) VALUES ('integrity-check', 1)`,
-- run by the tests) compares the index with `licenses` whole. The triggers
-- keep it exact: a row is removed with the 'delete' command and the very
-- values it was indexed with (the old ones), then written with the new ones.
-- Rowids of `licenses` are kept by every rebuild (see
-- 20261202000007_lean_licenses.sql), which this index relies on.
DROP TRIGGER license_text_insert;
DROP TRIGGER license_text_update;
DROP TRIGGER license_text_delete;
DROP TABLE license_text;

CREATE VIRTUAL TABLE license_text USING fts5(
    buyer_email, note,
    content = 'licenses', content_rowid = 'rowid', columnsize = 0,
    tokenize = 'trigram'
);
INSERT INTO license_text (rowid, buyer_email, note)
    SELECT rowid, coalesce(buyer_email, ''), coalesce(note, '') FROM licenses;

CREATE TRIGGER license_text_insert AFTER INSERT ON licenses BEGIN
    INSERT INTO license_text (rowid, buyer_email, note)
    VALUES (NEW.rowid, coalesce(NEW.buyer_email, ''), coalesce(NEW.note, ''));
END;
CREATE TRIGGER license_text_update AFTER UPDATE OF buyer_email, note ON licenses BEGIN
    INSERT INTO license_text (license_text, rowid, buyer_email, note)
    VALUES ('delete', OLD.rowid, coalesce(OLD.buyer_email, ''), coalesce(OLD.note, ''));
    INSERT INTO license_text (rowid, buyer_email, note)
    VALUES (NEW.rowid, coalesce(NEW.buyer_email, ''), coalesce(NEW.note, ''));
END;
CREATE TRIGGER license_text_delete AFTER DELETE ON licenses BEGIN
    INSERT INTO license_text (license_text, rowid, buyer_email, note)
    VALUES ('delete', OLD.rowid, coalesce(OLD.buyer_email, ''), coalesce(OLD.note, ''));
END;
