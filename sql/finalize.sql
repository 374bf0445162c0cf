-- Runs last in CREATE EXTENSION, once every function exists.

-- Nobody but the owner (and roles the owner grants) may run the sync or change its settings.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA azure_sync FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA azure_sync FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA azure_sync FROM PUBLIC;

-- Reading the contract is harmless and useful to anyone who may use the schema.
GRANT EXECUTE ON FUNCTION azure_sync.validate(text, jsonb) TO PUBLIC;
GRANT EXECUTE ON FUNCTION azure_sync.json_schema(text) TO PUBLIC;

-- Portal policies when this is a Supabase database (auth schema and roles present).
SELECT azure_sync.create_portal_policies();
