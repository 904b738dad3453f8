-- wsgw schema version 2: a generation counter that every change to apps,
-- members, tokens or grants increments, read in the same transaction as the
-- gateway's snapshot. /stat?format=json reports the generation the gateway
-- serves, so an operator (or a test) can tell when a change is live.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('generation', 0);

CREATE TRIGGER apps_insert AFTER INSERT ON apps BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
CREATE TRIGGER apps_update AFTER UPDATE ON apps BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
CREATE TRIGGER apps_delete AFTER DELETE ON apps BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
CREATE TRIGGER members_insert AFTER INSERT ON members BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
CREATE TRIGGER members_delete AFTER DELETE ON members BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
CREATE TRIGGER member_tokens_insert AFTER INSERT ON member_tokens BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
CREATE TRIGGER member_tokens_delete AFTER DELETE ON member_tokens BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
CREATE TRIGGER grants_insert AFTER INSERT ON grants BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
CREATE TRIGGER grants_delete AFTER DELETE ON grants BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation';
END;
