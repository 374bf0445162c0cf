-- azure_sync 0.1.0 → 0.2.0: ALTER EXTENSION azure_sync UPDATE TO '0.2.0'.
-- Data is kept; afterwards the schema is the same as a fresh 0.2.0 install's
-- (tests/e2e/test_upgrade.py checks both).

-- Which names are secrets is decided by the settings table in the code (src/config.rs), the
-- one home of every setting: no second list in a CHECK.
ALTER TABLE azure_sync.secrets DROP CONSTRAINT secrets_name_check;

-- configure() takes one argument per setting of that table, and every whole number as bigint
-- (0.1.0 took some as integer). A call with named arguments reads the same as before.
DROP FUNCTION azure_sync.configure(text, text, text, text, text, text, text, bigint, integer, bigint, bigint, integer, integer, double precision, integer);
CREATE FUNCTION azure_sync.configure(
	"azure_url" TEXT DEFAULT NULL,
	"azure_connection_string" TEXT DEFAULT NULL,
	"azure_container" TEXT DEFAULT NULL,
	"auth_url" TEXT DEFAULT NULL,
	"storage_url" TEXT DEFAULT NULL,
	"service_role_key" TEXT DEFAULT NULL,
	"bucket" TEXT DEFAULT NULL,
	"max_blob_bytes" bigint DEFAULT NULL,
	"download_concurrency" bigint DEFAULT NULL,
	"connect_timeout_ms" bigint DEFAULT NULL,
	"request_timeout_ms" bigint DEFAULT NULL,
	"max_retries" bigint DEFAULT NULL,
	"list_page_size" bigint DEFAULT NULL,
	"delete_max_fraction" double precision DEFAULT NULL,
	"delete_max_count" bigint DEFAULT NULL,
	"max_clock_skew_minutes" bigint DEFAULT NULL,
	"max_list_pages" bigint DEFAULT NULL,
	"max_run_seconds" bigint DEFAULT NULL,
	"allowance_hours" bigint DEFAULT NULL,
	"retain_days" bigint DEFAULT NULL,
	"history_days" bigint DEFAULT NULL,
	"storage_file_size_limit" bigint DEFAULT NULL,
	"readiness_max_age_hours" bigint DEFAULT NULL,
	"ca_bundle" TEXT DEFAULT NULL,
	"allow_insecure_http" bool DEFAULT NULL
) RETURNS TABLE (
	"name" TEXT,
	"value" TEXT,
	"is_secret" bool,
	"stored_in" TEXT,
	"description" TEXT
)
LANGUAGE c
AS 'MODULE_PATHNAME', 'configure_wrapper';
-- As finalize.sql does for every function: only the owner, and whom the owner grants.
REVOKE ALL ON FUNCTION azure_sync.configure(text, text, text, text, text, text, text, bigint, bigint, bigint, bigint, bigint, bigint, double precision, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, text, boolean) FROM PUBLIC;

-- A version that fails for good (contract, size, rejection) is remembered by its ETag and not
-- downloaded again until it changes.
ALTER TABLE azure_sync.blob_state ADD COLUMN permanently_failed_etag text;
CREATE OR REPLACE VIEW azure_sync.failing_blobs AS
SELECT blob_name, kind, consecutive_failures, last_failed_at, last_error, applied_at AS last_applied_at,
       permanently_failed_etag IS NULL AS retried
FROM azure_sync.blob_state
WHERE consecutive_failures > 0
ORDER BY consecutive_failures DESC, blob_name;

-- Deletions held back by the guard: an allowance has the next run apply users.json again.
ALTER TABLE azure_sync.users_file_state ADD COLUMN deletions_blocked integer NOT NULL DEFAULT 0;

-- Allowances expire, and may carry a maximum number of deletions.
ALTER TABLE azure_sync.deletion_allowances ADD COLUMN max_count integer, ADD COLUMN expires_at timestamptz;
DROP FUNCTION azure_sync.allow_mass_deletion(text);
CREATE FUNCTION azure_sync.allow_mass_deletion(
	"reason" TEXT DEFAULT NULL,
	"max_count" INT DEFAULT NULL
) RETURNS bigint
LANGUAGE c
AS 'MODULE_PATHNAME', 'allow_mass_deletion_wrapper';
REVOKE ALL ON FUNCTION azure_sync.allow_mass_deletion(text, integer) FROM PUBLIC;

-- A DBA's repair for GeneratedAt stamps from the future that 0.1.0 stored.
CREATE FUNCTION azure_sync.clear_future_stamps() RETURNS jsonb
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'clear_future_stamps_wrapper';
REVOKE ALL ON FUNCTION azure_sync.clear_future_stamps() FROM PUBLIC;

-- Retention looks for old days across every company at the end of each run.
CREATE INDEX schedule_data_schedule_date_idx ON azure_sync.schedule_data (schedule_date);

-- The portal reads snapshots through Supabase Storage, which runs every query as the caller's
-- role: a policy on storage.objects lets technicians read their companies' snapshots.
CREATE FUNCTION azure_sync.snapshot_bucket() RETURNS TEXT
STRICT STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'snapshot_bucket_wrapper';
REVOKE ALL ON FUNCTION azure_sync.snapshot_bucket() FROM PUBLIC;

-- The company a snapshot's path belongs to (its first segment), NULL when it names none.
CREATE FUNCTION azure_sync.path_company(path text) RETURNS bigint
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT CASE WHEN split_part(path, '/', 1) ~ '^[0-9]{1,18}$' THEN split_part(path, '/', 1)::bigint END
$$;
REVOKE ALL ON FUNCTION azure_sync.path_company(text) FROM PUBLIC;

-- Grants and policies for the portal; created by CREATE EXTENSION when Supabase's auth
-- schema and roles exist, and callable again later (idempotent) if they arrive afterwards.
-- Each policy looks the signed-in user's companies up once per statement (a scalar subquery),
-- not once per row.
CREATE OR REPLACE FUNCTION azure_sync.create_portal_policies() RETURNS text
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
REVOKE ALL ON FUNCTION azure_sync.create_portal_policies() FROM PUBLIC;
SELECT azure_sync.create_portal_policies();

-- Outage readiness: could every technician sign in and see their week if upstream went down now?
CREATE FUNCTION azure_sync.readiness() RETURNS TABLE (
	"check" TEXT,
	"ok" bool,
	"detail" TEXT
)
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'readiness_wrapper';
REVOKE ALL ON FUNCTION azure_sync.readiness() FROM PUBLIC;

-- Drift repair between Supabase Auth and the profiles, which schedule() also schedules daily.
CREATE FUNCTION azure_sync.reconcile_auth(
	"dry_run" bool DEFAULT true
) RETURNS jsonb
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'reconcile_auth_wrapper';
REVOKE ALL ON FUNCTION azure_sync.reconcile_auth(boolean) FROM PUBLIC;
DROP FUNCTION azure_sync.schedule(text);
CREATE FUNCTION azure_sync.schedule(
	"cron" TEXT DEFAULT '*/15 * * * *',
	"reconcile" TEXT DEFAULT '17 3 * * *'
) RETURNS bigint
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_wrapper';
REVOKE ALL ON FUNCTION azure_sync.schedule(text, text) FROM PUBLIC;

-- Operated by a role that is not a superuser: the functions that operate the sync run as the
-- owner (SECURITY DEFINER, search_path pinned, pg_temp last), and azure_sync_admin may call them.
ALTER FUNCTION azure_sync.configure(text, text, text, text, text, text, text, bigint, bigint, bigint, bigint, bigint, bigint, double precision, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, text, boolean)
    SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.show_config() SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.run(boolean, text) SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.schedule(text, text) SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.unschedule() SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.list_blobs() SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.download_blob(text, text) SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.fetch_blob(text) SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.sync_users(jsonb, boolean) SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.sync_schedule(jsonb, text) SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.allow_mass_deletion(text, integer) SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.reconcile_auth(boolean) SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.readiness() SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION azure_sync.clear_future_stamps() SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;

-- Remove every secret of ours (Vault and azure_sync.secrets): before DROP EXTENSION.
CREATE FUNCTION azure_sync.forget_secrets() RETURNS bigint
STRICT SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'forget_secrets_wrapper';
REVOKE ALL ON FUNCTION azure_sync.forget_secrets() FROM PUBLIC;

-- The operator role, its grants and read policies, as finalize.sql creates them.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'azure_sync_admin') THEN
        CREATE ROLE azure_sync_admin NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA azure_sync TO azure_sync_admin;
GRANT EXECUTE ON FUNCTION
    azure_sync.configure, azure_sync.show_config, azure_sync.forget_secrets,
    azure_sync.run, azure_sync.schedule, azure_sync.unschedule,
    azure_sync.list_blobs, azure_sync.download_blob, azure_sync.fetch_blob,
    azure_sync.sync_users, azure_sync.sync_schedule, azure_sync.allow_mass_deletion,
    azure_sync.reconcile_auth, azure_sync.readiness, azure_sync.clear_future_stamps
    TO azure_sync_admin;
GRANT SELECT ON
    azure_sync.status, azure_sync.recent_runs, azure_sync.company_freshness, azure_sync.failing_blobs,
    azure_sync.settings, azure_sync.service_company_groups, azure_sync.companies, azure_sync.user_profiles,
    azure_sync.company_memberships, azure_sync.schedule_data, azure_sync.stored_objects, azure_sync.blob_state,
    azure_sync.users_file_state, azure_sync.deletion_allowances, azure_sync.sync_jobs
    TO azure_sync_admin;
CREATE POLICY operator_read ON azure_sync.settings FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.service_company_groups FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.companies FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.user_profiles FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.company_memberships FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.schedule_data FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.stored_objects FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.blob_state FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.users_file_state FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.deletion_allowances FOR SELECT TO azure_sync_admin USING (true);
CREATE POLICY operator_read ON azure_sync.sync_jobs FOR SELECT TO azure_sync_admin USING (true);
