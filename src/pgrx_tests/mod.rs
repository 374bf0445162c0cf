//! The `#[pg_test]`s: SQL functions against a real PostgreSQL. Each file is its own
//! `#[pg_schema] mod tests` (cargo pgrx test calls every test as tests.<name>()), as
//! CrunchyData/pg_parquet lays them out.

mod hostile;
mod support;
mod sync_docs;
