-- azure_sync: tables of the backup portal and the state the sync keeps, as a fresh install
-- creates them. Created in schema azure_sync (the control file's schema) by CREATE EXTENSION.
-- A change here ships with its sql/azure_sync--A--B.sql upgrade script, and a new column goes
-- last in its table, where ALTER TABLE ... ADD COLUMN puts it (tests/e2e/test_upgrade.py
-- compares an upgraded database with a fresh one).

-- Settings that are not secret: endpoints, bucket, limits.
CREATE TABLE azure_sync.settings (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE azure_sync.settings IS 'Non-secret configuration; set with azure_sync.configure(), shown with azure_sync.show_config().';

-- Secrets when Supabase Vault is absent: only the extension's owner can read this table.
-- Which names are secrets is the settings table's word (src/config.rs), not a CHECK here.
CREATE TABLE azure_sync.secrets (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE azure_sync.secrets IS 'SAS URL, connection string, service-role key (when the vault schema is absent). Never granted to anyone.';

CREATE TABLE azure_sync.service_company_groups (
    id                  bigint PRIMARY KEY,               -- ServiceCompanyGroupId
    name                text NOT NULL,
    is_active           boolean NOT NULL DEFAULT true,
    -- GeneratedAt of the file that last wrote this row: an older file never overwrites it.
    source_generated_at timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE azure_sync.companies (
    id                  bigint PRIMARY KEY,               -- ServiceCompanyId
    group_id            bigint NOT NULL REFERENCES azure_sync.service_company_groups (id),
    name                text NOT NULL,
    is_active           boolean NOT NULL DEFAULT true,
    time_zone_id        text,
    feature_toggles     jsonb NOT NULL DEFAULT '{}',
    source_generated_at timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX companies_group_id_idx ON azure_sync.companies (group_id);

-- One profile per upstream UserId (the same id as the Supabase Auth user).
CREATE TABLE azure_sync.user_profiles (
    id          uuid PRIMARY KEY,                         -- UserId
    email       text NOT NULL,                            -- lowercased
    first_name  text,
    last_name   text,
    full_name   text,
    -- sha256 of the upstream record (names, email, memberships): unchanged users cost nothing.
    record_hash text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_profiles_email_idx ON azure_sync.user_profiles (email);

-- Every company a person works for, with their roles there.
CREATE TABLE azure_sync.company_memberships (
    user_id                 uuid NOT NULL REFERENCES azure_sync.user_profiles (id) ON DELETE CASCADE,
    company_id              bigint NOT NULL REFERENCES azure_sync.companies (id),
    employee_information_id bigint,
    roles                   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (user_id, company_id)
);
CREATE INDEX company_memberships_company_id_idx ON azure_sync.company_memberships (company_id);

-- One row per company and day (DateRangeStart): the snapshot's metadata.
CREATE TABLE azure_sync.schedule_data (
    service_company_id bigint NOT NULL REFERENCES azure_sync.companies (id),
    schedule_date      date NOT NULL,                     -- DateRangeStart
    date_range_end     date NOT NULL,
    generated_at       timestamptz NOT NULL,
    job_count          integer NOT NULL,
    storage_path       text NOT NULL,                     -- {ServiceCompanyId}/{DateRangeStart}/schedule.json
    size_bytes         bigint NOT NULL,
    content_sha256     text NOT NULL,
    azure_blob_name    text,
    azure_blob_hash    text,                              -- the blob's ETag when it came from Azure
    synced_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_company_id, schedule_date)
);
-- Retention looks for old days across every company at the end of each run.
CREATE INDEX schedule_data_schedule_date_idx ON azure_sync.schedule_data (schedule_date);

-- The embedded storage backend: snapshot bytes kept in the database when no Storage API is
-- configured, so that a plain PostgreSQL serves the portal's reads.
CREATE TABLE azure_sync.stored_objects (
    bucket         text NOT NULL,
    path           text NOT NULL,
    content        bytea NOT NULL,
    content_type   text NOT NULL DEFAULT 'application/json',
    size_bytes     bigint NOT NULL,
    content_sha256 text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, path)
);

-- Snapshots are JSON that compresses well, and a run stores hundreds of them: lz4 is about
-- ten times faster than the default pglz for the same use (a profile of the first sync showed
-- two thirds of its time in pglz_compress). A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE azure_sync.stored_objects ALTER COLUMN content SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'azure_sync: this server has no lz4: stored_objects.content keeps pglz compression';
END
$$;

-- What was last applied of each blob: the listing's ETag decides whether to download again.
CREATE TABLE azure_sync.blob_state (
    blob_name            text PRIMARY KEY,
    kind                 text NOT NULL CHECK (kind IN ('users', 'schedule')),
    applied_etag         text,                            -- NULL: never applied
    content_sha256       text,
    size_bytes           bigint,
    applied_at           timestamptz,
    last_error           text,
    last_failed_at       timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0,
    -- The ETag of a version that failed in a way that will repeat (contract, size, rejection):
    -- not downloaded again until the ETag changes, and reported by every run meanwhile.
    permanently_failed_etag text
);

-- The users.json last applied (one row): an older GeneratedAt is never applied after it.
CREATE TABLE azure_sync.users_file_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generated_at   timestamptz NOT NULL,
    content_sha256 text NOT NULL,
    applied_at     timestamptz NOT NULL DEFAULT now(),
    -- Deletions the guard held back: a DBA's allowance has the next run apply it again.
    deletions_blocked integer NOT NULL DEFAULT 0
);

-- One-time permissions, granted by a DBA, to pass the mass-deletion guard once.
CREATE TABLE azure_sync.deletion_allowances (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    granted_by name NOT NULL DEFAULT current_user,
    granted_at timestamptz NOT NULL DEFAULT now(),
    reason     text,
    used_at    timestamptz,
    users_deleted integer,
    -- At most this many deletions (NULL: any number), and not after this time.
    max_count  integer,
    expires_at timestamptz
);
CREATE INDEX deletion_allowances_unused_idx ON azure_sync.deletion_allowances (id) WHERE used_at IS NULL;

-- One row per run of azure_sync.run(), failed and skipped runs included.
CREATE TABLE azure_sync.sync_jobs (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at            timestamptz,
    status                 text NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'skipped')),
    trigger                text NOT NULL DEFAULT 'manual',
    dry_run                boolean NOT NULL DEFAULT false,
    blobs_listed           integer NOT NULL DEFAULT 0,
    blobs_unchanged        integer NOT NULL DEFAULT 0,
    blobs_downloaded       integer NOT NULL DEFAULT 0,
    blobs_failed           integer NOT NULL DEFAULT 0,
    schedules_applied      integer NOT NULL DEFAULT 0,
    users_created          integer NOT NULL DEFAULT 0,
    users_updated          integer NOT NULL DEFAULT 0,
    users_unchanged        integer NOT NULL DEFAULT 0,
    users_deleted          integer NOT NULL DEFAULT 0,
    user_deletions_blocked integer NOT NULL DEFAULT 0,
    errors                 jsonb NOT NULL DEFAULT '[]',
    summary                jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX sync_jobs_started_at_idx ON azure_sync.sync_jobs (started_at DESC);

-- Row-level security everywhere: the owner (who runs the sync) bypasses it; everyone else
-- sees only what a policy allows, and without the auth schema no policy allows anything.
ALTER TABLE azure_sync.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.service_company_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.user_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.company_memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.schedule_data ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.stored_objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.blob_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.users_file_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.deletion_allowances ENABLE ROW LEVEL SECURITY;
ALTER TABLE azure_sync.sync_jobs ENABLE ROW LEVEL SECURITY;

-- What a DBA looks at first: is the backup fresh, is anything failing.
CREATE VIEW azure_sync.status AS
SELECT
    (SELECT max(started_at) FROM azure_sync.sync_jobs WHERE NOT dry_run)                             AS last_run_at,
    (SELECT status FROM azure_sync.sync_jobs WHERE NOT dry_run ORDER BY id DESC LIMIT 1)             AS last_run_status,
    (SELECT max(finished_at) FROM azure_sync.sync_jobs WHERE status = 'succeeded')                   AS last_success_at,
    now() - (SELECT max(finished_at) FROM azure_sync.sync_jobs WHERE status = 'succeeded')           AS since_last_success,
    (SELECT count(*) FROM azure_sync.sync_jobs WHERE started_at > now() - interval '24 hours')       AS runs_last_24h,
    (SELECT count(*) FROM azure_sync.sync_jobs
      WHERE started_at > now() - interval '24 hours' AND status IN ('failed', 'partial'))             AS troubled_runs_last_24h,
    (SELECT (summary->>'sas_expires_at')::timestamptz FROM azure_sync.sync_jobs
      WHERE summary->>'sas_expires_at' IS NOT NULL ORDER BY id DESC LIMIT 1)                         AS sas_expires_at,
    (SELECT max(generated_at) FROM azure_sync.schedule_data)                                          AS newest_schedule_generated_at,
    (SELECT generated_at FROM azure_sync.users_file_state)                                            AS users_generated_at,
    (SELECT count(*) FROM azure_sync.blob_state WHERE consecutive_failures >= 2)                      AS blobs_failing_repeatedly;

-- The latest runs, one line each.
CREATE VIEW azure_sync.recent_runs AS
SELECT id, started_at, finished_at - started_at AS duration, status, trigger, dry_run,
       blobs_listed, blobs_downloaded, blobs_failed, schedules_applied,
       users_created, users_updated, users_deleted, user_deletions_blocked,
       jsonb_array_length(errors) AS error_count
FROM azure_sync.sync_jobs
ORDER BY id DESC
LIMIT 50;

-- How old each company's backup is: the newest GeneratedAt applied.
CREATE VIEW azure_sync.company_freshness AS
SELECT c.id AS service_company_id, c.name, max(s.generated_at) AS newest_generated_at,
       now() - max(s.generated_at) AS age, max(s.synced_at) AS last_synced_at
FROM azure_sync.companies c
LEFT JOIN azure_sync.schedule_data s ON s.service_company_id = c.id
GROUP BY c.id, c.name;

-- Blobs whose last attempts failed, worst first; `retried` is false for a version that fails
-- for good (it waits for a new ETag).
CREATE VIEW azure_sync.failing_blobs AS
SELECT blob_name, kind, consecutive_failures, last_failed_at, last_error, applied_at AS last_applied_at,
       permanently_failed_etag IS NULL AS retried
FROM azure_sync.blob_state
WHERE consecutive_failures > 0
ORDER BY consecutive_failures DESC, blob_name;

-- The portal's readers (Supabase's `authenticated` role) see the rows of their own companies
-- only. These helpers read the signed-in user's id the way Supabase's auth.uid() does, from
-- the JWT claims PostgREST sets.
CREATE FUNCTION azure_sync.current_user_id() RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT nullif(coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                           nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'), '')::uuid
$$;

-- SECURITY DEFINER: the memberships table has row-level security of its own, and a policy
-- that queried it directly would recurse.
CREATE FUNCTION azure_sync.my_company_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT coalesce(array_agg(company_id), '{}') FROM azure_sync.company_memberships
    WHERE user_id = azure_sync.current_user_id()
$$;

-- The company a snapshot's path belongs to (its first segment), NULL when it names none.
CREATE FUNCTION azure_sync.path_company(path text) RETURNS bigint
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT CASE WHEN split_part(path, '/', 1) ~ '^[0-9]{1,18}$' THEN split_part(path, '/', 1)::bigint END
$$;

-- Grants and policies for the portal; created by CREATE EXTENSION when Supabase's auth
-- schema and roles exist, and callable again later (idempotent) if they arrive afterwards.
-- Each policy looks the signed-in user's companies up once per statement (a scalar subquery),
-- not once per row.
CREATE FUNCTION azure_sync.create_portal_policies() RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    storage_note text := '';
BEGIN
    IF to_regnamespace('auth') IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        RETURN 'no auth schema or authenticated role: no portal policies (only the owner reads the tables)';
    END IF;
    GRANT USAGE ON SCHEMA azure_sync TO authenticated;
    GRANT SELECT ON azure_sync.service_company_groups, azure_sync.companies, azure_sync.user_profiles,
        azure_sync.company_memberships, azure_sync.schedule_data, azure_sync.stored_objects TO authenticated;
    GRANT EXECUTE ON FUNCTION azure_sync.current_user_id(), azure_sync.my_company_ids(), azure_sync.path_company(text) TO authenticated;

    DROP POLICY IF EXISTS portal_read ON azure_sync.companies;
    CREATE POLICY portal_read ON azure_sync.companies FOR SELECT TO authenticated
        USING (id = ANY ((SELECT azure_sync.my_company_ids())::bigint[]));
    DROP POLICY IF EXISTS portal_read ON azure_sync.service_company_groups;
    CREATE POLICY portal_read ON azure_sync.service_company_groups FOR SELECT TO authenticated
        USING (id IN (SELECT group_id FROM azure_sync.companies WHERE id = ANY ((SELECT azure_sync.my_company_ids())::bigint[])));
    DROP POLICY IF EXISTS portal_read ON azure_sync.company_memberships;
    CREATE POLICY portal_read ON azure_sync.company_memberships FOR SELECT TO authenticated
        USING (company_id = ANY ((SELECT azure_sync.my_company_ids())::bigint[]));
    DROP POLICY IF EXISTS portal_read ON azure_sync.schedule_data;
    CREATE POLICY portal_read ON azure_sync.schedule_data FOR SELECT TO authenticated
        USING (service_company_id = ANY ((SELECT azure_sync.my_company_ids())::bigint[]));
    DROP POLICY IF EXISTS portal_read ON azure_sync.user_profiles;
    CREATE POLICY portal_read ON azure_sync.user_profiles FOR SELECT TO authenticated
        USING (id = (SELECT azure_sync.current_user_id()));
    DROP POLICY IF EXISTS portal_read ON azure_sync.stored_objects;
    CREATE POLICY portal_read ON azure_sync.stored_objects FOR SELECT TO authenticated
        USING (azure_sync.path_company(path) = ANY ((SELECT azure_sync.my_company_ids())::bigint[]));

    -- Supabase Storage runs every query as the caller's role: without a SELECT policy on
    -- storage.objects no technician reads a snapshot. They read exactly the objects of our
    -- bucket whose first path segment is one of their companies; anon reads nothing, and
    -- only the service role (which bypasses row-level security) writes.
    IF to_regclass('storage.objects') IS NOT NULL THEN
        GRANT EXECUTE ON FUNCTION azure_sync.snapshot_bucket() TO authenticated;
        DROP POLICY IF EXISTS azure_sync_snapshots_read ON storage.objects;
        CREATE POLICY azure_sync_snapshots_read ON storage.objects FOR SELECT TO authenticated
            USING (bucket_id = (SELECT azure_sync.snapshot_bucket())
                   AND azure_sync.path_company(name) = ANY ((SELECT azure_sync.my_company_ids())::bigint[]));
        storage_note := ', and on storage.objects for the snapshots';
    END IF;
    RETURN 'portal policies created for role authenticated' || storage_note;
END
$$;
