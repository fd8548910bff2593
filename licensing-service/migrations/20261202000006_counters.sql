-- Issue 19: nothing O(N) on a timer or behind /v1/admin/stats. Row counts
-- the stats show are kept up to date by triggers in the writing transaction.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY NOT NULL,
    value  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES
    ('licenses', (SELECT count(*) FROM licenses)),
    ('active_machines', (SELECT count(*) FROM machines WHERE active = 1));

CREATE TRIGGER counters_license_insert AFTER INSERT ON licenses BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'licenses';
END;
CREATE TRIGGER counters_license_delete AFTER DELETE ON licenses BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'licenses';
END;
CREATE TRIGGER counters_machine_insert AFTER INSERT ON machines WHEN new.active = 1 BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'active_machines';
END;
CREATE TRIGGER counters_machine_delete AFTER DELETE ON machines WHEN old.active = 1 BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'active_machines';
END;
CREATE TRIGGER counters_machine_active AFTER UPDATE OF active ON machines WHEN new.active != old.active BEGIN
    UPDATE counters SET value = value + (CASE WHEN new.active = 1 THEN 1 ELSE -1 END) WHERE name = 'active_machines';
END;
