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
	"delete_max_count" bigint DEFAULT NULL
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
REVOKE ALL ON FUNCTION azure_sync.configure(text, text, text, text, text, text, text, bigint, bigint, bigint, bigint, bigint, bigint, double precision, bigint) FROM PUBLIC;
