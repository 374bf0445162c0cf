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
	"history_days" bigint DEFAULT NULL
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
REVOKE ALL ON FUNCTION azure_sync.configure(text, text, text, text, text, text, text, bigint, bigint, bigint, bigint, bigint, bigint, double precision, bigint, bigint, bigint, bigint, bigint, bigint, bigint) FROM PUBLIC;

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
