-- A stand-in for Supabase Vault (supabase_vault 0.3.1) on the points azure_sync depends on,
-- each checked against the real extension: schema `vault`; `vault.secrets` keeps the secret
-- encrypted (here: merely encoded, so that no test can read it there by accident) under a
-- unique name; `create_secret(secret, name, description)` returns the new id;
-- `update_secret(id, secret, ...)` keeps the row and its id; there is no delete function (a
-- secret goes with DELETE FROM vault.secrets); `decrypted_secrets` shows the plain text; and
-- nothing in the schema is granted to anyone; create_secret and update_secret are SECURITY
-- DEFINER with an empty search_path (supabase/vault sql/supabase_vault--0.3.0.sql). Used by
-- the pg_tests (include_str!) and the end-to-end tests.
CREATE SCHEMA vault;
CREATE TABLE vault.secrets (
    id          uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    name        text,
    description text NOT NULL DEFAULT '',
    secret      text NOT NULL,
    key_id      uuid,
    nonce       bytea DEFAULT '\x00',
    created_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX secrets_name_idx ON vault.secrets (name) WHERE name IS NOT NULL;
CREATE FUNCTION vault._encrypt(plain text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'enc:' || encode(convert_to(plain, 'UTF8'), 'base64') $$;
CREATE FUNCTION vault._decrypt(stored text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT convert_from(decode(substr(stored, 5), 'base64'), 'UTF8') $$;
CREATE FUNCTION vault.create_secret(new_secret text, new_name text DEFAULT NULL, new_description text DEFAULT '', new_key_id uuid DEFAULT NULL)
    RETURNS uuid LANGUAGE sql SECURITY DEFINER SET search_path = ''
    AS $$ INSERT INTO vault.secrets (secret, name, description, key_id) VALUES (vault._encrypt(new_secret), new_name, new_description, new_key_id) RETURNING id $$;
CREATE FUNCTION vault.update_secret(secret_id uuid, new_secret text DEFAULT NULL, new_name text DEFAULT NULL, new_description text DEFAULT NULL, new_key_id uuid DEFAULT NULL)
    RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = ''
    AS $$ UPDATE vault.secrets SET secret = coalesce(vault._encrypt(new_secret), secret), name = coalesce(new_name, name),
              description = coalesce(new_description, description), key_id = coalesce(new_key_id, key_id), updated_at = CURRENT_TIMESTAMP
          WHERE id = secret_id $$;
CREATE VIEW vault.decrypted_secrets AS
    SELECT id, name, description, secret, vault._decrypt(secret) AS decrypted_secret, key_id, nonce, created_at, updated_at FROM vault.secrets;
REVOKE ALL ON SCHEMA vault FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA vault FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vault FROM PUBLIC;
