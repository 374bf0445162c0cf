//! The only place that writes the portal's tables through SPI: upserts of groups, companies,
//! schedule rows and documents, profiles and memberships, and the sync's own state.

pub mod blobs;
pub mod jobs;
pub mod schedule;
pub mod subtxn;
pub mod users;

use pgrx::spi::SpiError;

/// A query for one row where no row is a normal answer.
pub(crate) fn optional<T>(result: Result<T, SpiError>) -> Result<Option<T>, SpiError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(SpiError::InvalidPosition) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Timestamps cross SPI as microseconds since the epoch (reading) and ISO text (writing).
pub(crate) const EPOCH_MICROS: &str = "(extract(epoch FROM {col}) * 1000000)::bigint";

pub(crate) fn epoch_micros(col: &str) -> String {
    EPOCH_MICROS.replace("{col}", col)
}
