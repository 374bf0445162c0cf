//! Groups and companies from a file's header: read what is stored, let plan::companies decide
//! what may be written (never regress), write it. Schedule files and users.json both use it.

use crate::apply::companies::{stored_companies, stored_groups, upsert_companies, upsert_groups};
use crate::error::SyncError;
use crate::plan::companies::{companies_to_write, groups_to_write, Headers};

/// Returns how many group and company rows were written.
pub fn write_headers(headers: &Headers) -> Result<(usize, usize), SyncError> {
    let groups = groups_to_write(headers, &stored_groups(&headers.group_ids())?);
    let companies = companies_to_write(headers, &stored_companies(&headers.company_ids())?);
    // Groups first: a company refers to its group.
    upsert_groups(&groups, headers.generated_at)?;
    upsert_companies(&companies, headers.generated_at)?;
    Ok((groups.len(), companies.len()))
}
