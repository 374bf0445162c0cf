-- Runs last in CREATE EXTENSION, once every function exists.

-- Nobody but the owner (and roles the owner grants) may run the sync or change its settings.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA azure_sync FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA azure_sync FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA azure_sync FROM PUBLIC;

-- Reading the contract is harmless and useful to anyone who may use the schema.
GRANT EXECUTE ON FUNCTION azure_sync.validate(text, jsonb) TO PUBLIC;
GRANT EXECUTE ON FUNCTION azure_sync.json_schema(text) TO PUBLIC;

-- The role that operates the sync. On Supabase the DBA's `postgres` is no superuser and does
-- not own the extension's objects: granted this role, a DBA configures, runs, schedules and
-- reads the status. The functions below run as the owner (SECURITY DEFINER, search_path
-- pinned) and never return a secret; the role reads every table but the secrets, and writes
-- none. Roles belong to the cluster: one created here outlives DROP EXTENSION, and one that
-- already exists (another database's install) is reused.
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
-- Row-level security is on everywhere: the operator reads every row of what it was granted.
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

-- Portal policies when this is a Supabase database (auth schema and roles present).
SELECT azure_sync.create_portal_policies();
