-- wsgw schema version 3: an app's backend (SPEC §7). webhook_url receives its
-- events, client publishes and RPCs; webhook_secret signs them (HMAC-SHA256),
-- so unlike push keys and tokens it is stored as it is: keep this file private.
-- client_publish says whether subscribers may publish to the app. Changes
-- bump the generation through the apps_update trigger of version 2.

ALTER TABLE apps ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN webhook_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN client_publish TEXT NOT NULL DEFAULT 'off'
    CHECK (client_publish IN ('off', 'subscribers'));
